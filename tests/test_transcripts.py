"""Unit and property tests of HH transcript parsing and formatting."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rmbench.data.transcripts import (
    ASSISTANT_TAG,
    DIALOGUE_MISMATCH,
    EMPTY_RESPONSE,
    HUMAN_TAG,
    IDENTICAL_RESPONSES,
    NO_FINAL_ASSISTANT_TURN,
    MalformedTranscript,
    format_dialogue,
    format_prompt,
    format_text,
    parse_transcript_pair,
    split_final_turn,
)

SINGLE_TURN_PROMPT = "\n\nHuman: What is 2+2?\n\nAssistant:"


def test_parse_single_turn_pair():
    chosen = SINGLE_TURN_PROMPT + " It is 4."
    rejected = SINGLE_TURN_PROMPT + " It is 5."

    prompt, chosen_response, rejected_response = parse_transcript_pair(chosen, rejected)

    assert prompt == SINGLE_TURN_PROMPT
    assert chosen_response == "It is 4."
    assert rejected_response == "It is 5."


def test_parse_multi_turn_keeps_earlier_turns():
    dialogue = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a colour.\n\nAssistant:"

    prompt, chosen_response, rejected_response = parse_transcript_pair(
        dialogue + " Blue.", dialogue + " I cannot help with that."
    )

    assert prompt == dialogue
    assert chosen_response == "Blue."
    assert rejected_response == "I cannot help with that."


def test_parse_strips_only_one_leading_space():
    prompt, chosen_response, _ = parse_transcript_pair(
        SINGLE_TURN_PROMPT + "  indented", SINGLE_TURN_PROMPT + " other"
    )

    assert prompt == SINGLE_TURN_PROMPT
    assert chosen_response == " indented"


def test_parse_keeps_response_without_leading_space():
    _, chosen_response, _ = parse_transcript_pair(
        SINGLE_TURN_PROMPT + "\nList:\n1. a", SINGLE_TURN_PROMPT + " no"
    )

    assert chosen_response == "\nList:\n1. a"


@pytest.mark.parametrize(
    ("chosen", "rejected", "reason"),
    [
        ("\n\nHuman: hi", SINGLE_TURN_PROMPT + " ok", NO_FINAL_ASSISTANT_TURN),
        (SINGLE_TURN_PROMPT + " ok", "just text", NO_FINAL_ASSISTANT_TURN),
        (
            SINGLE_TURN_PROMPT + " ok",
            SINGLE_TURN_PROMPT + " ok\n\nHuman: and then?",
            NO_FINAL_ASSISTANT_TURN,
        ),
        (SINGLE_TURN_PROMPT, SINGLE_TURN_PROMPT + " ok", EMPTY_RESPONSE),
        (SINGLE_TURN_PROMPT + " ok", SINGLE_TURN_PROMPT + "   \n", EMPTY_RESPONSE),
        (
            SINGLE_TURN_PROMPT + " ok",
            "\n\nHuman: What is 3+3?\n\nAssistant: ok?",
            DIALOGUE_MISMATCH,
        ),
        (SINGLE_TURN_PROMPT + " same", SINGLE_TURN_PROMPT + " same", IDENTICAL_RESPONSES),
    ],
    ids=[
        "chosen-without-assistant",
        "rejected-without-tags",
        "ends-with-human-turn",
        "empty-chosen",
        "whitespace-rejected",
        "different-dialogues",
        "identical-responses",
    ],
)
def test_parse_rejects_malformed_pair(chosen, rejected, reason):
    with pytest.raises(MalformedTranscript) as raised:
        parse_transcript_pair(chosen, rejected)

    assert raised.value.reason == reason
    assert raised.value.detail
    assert str(raised.value).startswith(reason)


def test_malformed_transcript_is_value_error():
    assert issubclass(MalformedTranscript, ValueError)


def test_split_final_turn_returns_prompt_and_response():
    prompt, response = split_final_turn(SINGLE_TURN_PROMPT + " four")

    assert prompt == SINGLE_TURN_PROMPT
    assert response == "four"


def test_format_text_inverts_split():
    transcript = SINGLE_TURN_PROMPT + " It is 4."

    assert format_text(*split_final_turn(transcript)) == transcript


def test_format_prompt_single_turn():
    assert format_prompt("What is 2+2?") == SINGLE_TURN_PROMPT


def test_format_dialogue_multi_turn():
    prompt = format_dialogue([("user", "Hi"), ("assistant", "Hello!"), ("User", "Name a colour.")])

    assert prompt == "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a colour.\n\nAssistant:"


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([], "empty"),
        ([("system", "be nice"), ("user", "hi")], "unknown dialogue role"),
        ([("user", "hi"), ("assistant", "hello")], "must end with a user turn"),
    ],
    ids=["empty", "unknown-role", "ends-with-assistant"],
)
def test_format_dialogue_rejects_invalid_turns(turns, message):
    with pytest.raises(ValueError, match=message):
        format_dialogue(turns)


# Turn text: any characters, but never a role tag, which would start a new turn.
turn_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40
).filter(lambda text: HUMAN_TAG not in text and ASSISTANT_TAG not in text)

response_text = turn_text.filter(lambda text: text.strip() != "")


def _build_dialogue(history: list[tuple[str, str]], last_question: str) -> str:
    parts = [f"{HUMAN_TAG} {question}{ASSISTANT_TAG} {answer}" for question, answer in history]
    return "".join(parts) + f"{HUMAN_TAG} {last_question}{ASSISTANT_TAG}"


@given(
    history=st.lists(st.tuples(turn_text, turn_text), max_size=4),
    last_question=turn_text,
    chosen=response_text,
    rejected=response_text,
)
def test_parse_round_trip_property(history, last_question, chosen, rejected):
    assume(chosen != rejected)
    dialogue = _build_dialogue(history, last_question)
    chosen_transcript = format_text(dialogue, chosen)
    rejected_transcript = format_text(dialogue, rejected)

    prompt, parsed_chosen, parsed_rejected = parse_transcript_pair(
        chosen_transcript, rejected_transcript
    )

    assert prompt == dialogue
    assert parsed_chosen == chosen
    assert parsed_rejected == rejected
    assert format_text(prompt, parsed_chosen) == chosen_transcript


@given(
    first_question=turn_text,
    second_question=turn_text,
    response=response_text,
)
def test_parse_different_dialogues_property(first_question, second_question, response):
    assume(first_question != second_question)
    chosen_transcript = format_text(_build_dialogue([], first_question), response)
    rejected_transcript = format_text(_build_dialogue([], second_question), response + "!")

    with pytest.raises(MalformedTranscript) as raised:
        parse_transcript_pair(chosen_transcript, rejected_transcript)

    assert raised.value.reason == DIALOGUE_MISMATCH
