"""Preference data: HH-RLHF pairs and HH transcript handling."""

from rmbench.data.hh_rlhf import (
    HH_SUBSETS,
    OBJECTIVE_SUBSETS,
    PreferencePair,
    SubsetLoadStats,
    data_fingerprint,
    load_hh_rlhf,
    load_hh_subset,
    objective_pairs,
    part_of,
)
from rmbench.data.paths import DATA_DIR_ENV, resolve_data_dir
from rmbench.data.transcripts import (
    MalformedTranscript,
    format_dialogue,
    format_prompt,
    format_text,
    parse_transcript_pair,
)

__all__ = [
    "DATA_DIR_ENV",
    "HH_SUBSETS",
    "OBJECTIVE_SUBSETS",
    "MalformedTranscript",
    "PreferencePair",
    "SubsetLoadStats",
    "data_fingerprint",
    "format_dialogue",
    "format_prompt",
    "format_text",
    "load_hh_rlhf",
    "load_hh_subset",
    "objective_pairs",
    "part_of",
    "parse_transcript_pair",
    "resolve_data_dir",
]
