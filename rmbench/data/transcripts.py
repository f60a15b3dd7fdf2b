"""Parsing and formatting of Anthropic HH-style dialogue transcripts.

An HH transcript is a sequence of turns, each introduced by ``"\\n\\nHuman:"`` or
``"\\n\\nAssistant:"``. Reward models in rmbench score the text
``prompt + " " + response``, where the prompt is the dialogue up to and including the
final ``"\\n\\nAssistant:"`` tag.
"""

from __future__ import annotations

from collections.abc import Iterable

HUMAN_TAG = "\n\nHuman:"
ASSISTANT_TAG = "\n\nAssistant:"

# Stable reason codes of MalformedTranscript; loaders count drops per code.
NO_FINAL_ASSISTANT_TURN = "no_final_assistant_turn"
EMPTY_RESPONSE = "empty_response"
DIALOGUE_MISMATCH = "dialogue_mismatch"
IDENTICAL_RESPONSES = "identical_responses"

MALFORMED_REASONS = (
    NO_FINAL_ASSISTANT_TURN,
    EMPTY_RESPONSE,
    DIALOGUE_MISMATCH,
    IDENTICAL_RESPONSES,
)

_ROLE_TAGS = {
    "user": HUMAN_TAG,
    "human": HUMAN_TAG,
    "assistant": ASSISTANT_TAG,
}


class MalformedTranscript(ValueError):
    """A chosen/rejected transcript pair that cannot be split into prompt and responses.

    ``reason`` is one of ``MALFORMED_REASONS``, so callers can count drops by cause.
    ``detail`` is a human-readable explanation.
    """

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def split_final_turn(transcript: str, *, label: str = "transcript") -> tuple[str, str]:
    """Split a transcript into (prompt, response) at its final assistant tag.

    The prompt ends with ``"\\n\\nAssistant:"``. Exactly one leading space is removed
    from the response, and the rest is kept verbatim.
    Raises MalformedTranscript(NO_FINAL_ASSISTANT_TURN) when there is no assistant tag
    or when a human turn follows the last one.
    """
    tag_start = transcript.rfind(ASSISTANT_TAG)
    if tag_start < 0:
        raise MalformedTranscript(
            NO_FINAL_ASSISTANT_TURN, f"the {label} contains no {ASSISTANT_TAG!r} tag"
        )

    prompt_end = tag_start + len(ASSISTANT_TAG)
    tail = transcript[prompt_end:]
    if HUMAN_TAG in tail:
        raise MalformedTranscript(
            NO_FINAL_ASSISTANT_TURN, f"the {label} ends with a human turn, not an assistant turn"
        )

    response = tail[1:] if tail.startswith(" ") else tail
    return transcript[:prompt_end], response


def parse_transcript_pair(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Split a chosen/rejected transcript pair into (prompt, chosen_response, rejected_response).

    Both transcripts must share the dialogue up to the final ``"\\n\\nAssistant:"`` tag and
    differ only in the final assistant turn. A response that is empty or only whitespace
    counts as empty.
    Raises MalformedTranscript with reason NO_FINAL_ASSISTANT_TURN, DIALOGUE_MISMATCH,
    EMPTY_RESPONSE or IDENTICAL_RESPONSES, checked in that order.
    """
    chosen_prompt, chosen_response = split_final_turn(chosen, label="chosen transcript")
    rejected_prompt, rejected_response = split_final_turn(rejected, label="rejected transcript")

    if chosen_prompt != rejected_prompt:
        raise MalformedTranscript(
            DIALOGUE_MISMATCH,
            "the chosen and rejected transcripts differ before their final assistant turn",
        )
    if not chosen_response.strip():
        raise MalformedTranscript(EMPTY_RESPONSE, "the chosen response is empty")
    if not rejected_response.strip():
        raise MalformedTranscript(EMPTY_RESPONSE, "the rejected response is empty")
    if chosen_response == rejected_response:
        raise MalformedTranscript(
            IDENTICAL_RESPONSES, "the chosen and rejected responses are identical"
        )

    return chosen_prompt, chosen_response, rejected_response


def format_text(prompt: str, response: str) -> str:
    """Return the text a reward model scores: ``prompt + " " + response``.

    For a transcript whose final response started with one space, this inverts
    ``split_final_turn``.
    """
    return prompt + " " + response


def format_prompt(user_message: str) -> str:
    """Return a single-turn HH prompt: ``"\\n\\nHuman: {user_message}\\n\\nAssistant:"``."""
    return f"{HUMAN_TAG} {user_message}{ASSISTANT_TAG}"


def format_dialogue(turns: Iterable[tuple[str, str]]) -> str:
    """Return an HH prompt for a multi-turn dialogue of (role, content) pairs.

    Roles are ``"user"``/``"human"`` and ``"assistant"`` (case-insensitive). The last turn
    must come from the user, because the prompt ends with the tag of the assistant turn
    that the reward model scores. Raises ValueError for an empty dialogue, an unknown role
    or a final assistant turn.
    """
    parts: list[str] = []
    last_role = None
    for role, content in turns:
        tag = _ROLE_TAGS.get(role.lower())
        if tag is None:
            raise ValueError(
                f"unknown dialogue role {role!r}; expected one of {sorted(_ROLE_TAGS)}"
            )
        parts.append(f"{tag} {content}")
        last_role = tag

    if last_role is None:
        raise ValueError("cannot format an empty dialogue")
    if last_role != HUMAN_TAG:
        raise ValueError("the dialogue must end with a user turn, but it ends with an assistant turn")

    return "".join(parts) + ASSISTANT_TAG
