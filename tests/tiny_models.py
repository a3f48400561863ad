"""Tiny random models built from configs at test time (seconds, no downloads).

Each builder writes a complete model folder (weights + tokenizer) that loads with
``from_pretrained`` exactly like a real model, so the code under test follows its real path.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "[CLS]", "[SEP]"]
CORPUS = [
    "The council voted to build a new bridge over the river.",
    "Shares fell sharply after the central bank raised interest rates.",
    "The team won the final match of the season in extra time.",
    "Scientists found water ice in a crater near the lunar south pole.",
    "Summarise the news article below. Summary: a short faithful sentence.",
    "Ministers, elections, parliament, football, vaccines, markets and software.",
]


def tiny_tokenizer(model_max_length: int = 10_000) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (any text encodes) with chat-template specials."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 5, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=model_max_length,
    )
    fast.chat_template = CHATML
    return fast


def _ids(tok: PreTrainedTokenizerFast) -> dict[str, int]:
    return {
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
    }


def build_causal(path: Path, context: int = 256) -> Path:
    """A 2-layer Llama chat model with a ``context``-token window."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        **_ids(tok),
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def build_seq2seq(path: Path, context: int = 128) -> Path:
    """A 2-layer BART encoder-decoder with a ``context``-token window."""
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    tok = tiny_tokenizer(model_max_length=context)
    config = BartConfig(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=context,
        decoder_start_token_id=tok.eos_token_id,
        forced_eos_token_id=tok.eos_token_id,
        **_ids(tok),
    )
    BartForConditionalGeneration(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def build_nli(path: Path) -> Path:
    """A 2-layer BERT sequence classifier with MNLI-style labels."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tok = tiny_tokenizer(model_max_length=128)
    labels = ["entailment", "neutral", "contradiction"]
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
        num_labels=3,
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        pad_token_id=tok.pad_token_id,
    )
    BertForSequenceClassification(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def build_bert(path: Path, *, safetensors: bool = True) -> Path:
    """A 2-layer BERT encoder (no head); ``safetensors=False`` saves a pickled checkpoint,
    as old hub folders have."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    tok = tiny_tokenizer(model_max_length=128)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
    )
    model = BertModel(config)
    if safetensors:
        model.save_pretrained(path)
    else:
        path.mkdir(parents=True)
        config.save_pretrained(path)
        torch.save(model.state_dict(), path / "pytorch_model.bin")
    tok.save_pretrained(path)
    return path


def build_sentence_transformer(path: Path) -> Path:
    """A 2-layer BERT encoder with mean pooling, saved as a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models

    base = build_bert(path.parent / (path.name + "-base"))
    encoder = st_models.Transformer(str(base), max_seq_length=128)
    pooling = st_models.Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[encoder, pooling], device="cpu").save(str(path))
    return path


def per_prompt(model):
    """A stand-in for ``generate_many`` that answers prompt by prompt with ``model``."""

    def generate_many(prompts, sources, count=1):
        return [model(p, s, count) for p, s in zip(prompts, sources, strict=True)]

    return generate_many
