"""FakeProvider's answers to agents whose output is a pydantic model: what validates against the
model, what cannot (the JSON Schema does not say what the model needs) and how to give it, and
the ``fail=`` counts the fake refuses."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import ipaddress
import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Discriminator, Field, Tag

from irgraph import Agent, RunError, run
from irgraph.errors import PipelineError
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake_values import fake_value

DOCS = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


def answer(model: type[BaseModel], provider: Any = None) -> Any:
    """What an agent with ``.output(model)`` writes, run on ``provider`` (a FakeProvider)."""
    agent = Agent("extract").instruct("Extract.").output(model).writes("value")
    return run(agent, provider=provider or FakeProvider(), state={}).state["value"]


def one_field(kind: Any) -> type[BaseModel]:
    return pydantic.create_model("Record", value=(kind, ...))


# --- fail= ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, -1, 1.0, "1", True, None])
def test_a_fail_count_below_one_or_not_a_whole_number_is_refused_naming_the_agent(count):
    with pytest.raises(PipelineError) as info:
        FakeProvider(fail={"writer": count})
    message = str(info.value)
    expected = "FakeProvider's fail count for 'writer' must be a whole number of at least 1"
    assert f"{expected} (got {count!r}" in message
    assert "fail={'writer': 1} makes the first call of 'writer' raise" in message


def test_a_fail_count_of_two_fails_the_first_two_calls_then_answers():
    fake = FakeProvider(fail={"w": 2})
    agent = Agent("w").instruct("Go.").writes("x")
    for _ in range(2):
        with pytest.raises(RunError, match="injected failure of agent 'w'"):
            run(agent, provider=fake, state={})
    assert run(agent, provider=fake, state={}).state == {"x": "<w: Go.>"}


# --- a oneOf told apart by format ---------------------------------------------------------------


def _version(value: Any) -> str:
    return "6" if ":" in str(value) else "4"


class Host(BaseModel):
    address: Annotated[
        Annotated[ipaddress.IPv4Address, Tag("4")] | Annotated[ipaddress.IPv6Address, Tag("6")],
        Discriminator(_version),
    ]


def test_a_one_of_whose_options_differ_only_in_format_gets_an_answer_the_model_takes():
    assert [o["format"] for o in Host.model_json_schema()["properties"]["address"]["oneOf"]] == [
        "ipv4",
        "ipv6",
    ]
    assert Host.model_validate(answer(Host)).address.version == 4


def test_a_model_s_answer_to_such_a_one_of_is_taken_and_a_wrong_one_refused():
    fake = FakeProvider(responses={"extract": '{"address": "2001:db8::1"}'})
    assert Host.model_validate(answer(Host, fake)).address.version == 6
    with pytest.raises(RunError, match="valid under each of|not valid under any"):
        answer(Host, FakeProvider(responses={"extract": '{"address": "nowhere"}'}))


# --- types whose schema says enough -----------------------------------------------------------


#: Field types the fake's answer fits, each a type whose schema another type shares.
FITTING: list[Any] = [
    datetime.datetime,
    pydantic.AwareDatetime,
    pydantic.PastDatetime,
    datetime.date,
    pydantic.PastDate,
    pydantic.AnyUrl,
    pydantic.HttpUrl,
    pydantic.AnyHttpUrl,
    pydantic.PostgresDsn,
]


@pytest.mark.parametrize("kind", FITTING, ids=lambda kind: kind.__name__)
def test_the_fake_answer_fits_the_types_that_share_a_schema_with_one_it_cannot_fit(kind):
    model = one_field(kind)
    model.model_validate(answer(model))


# --- types whose schema says too little: documented, and given by a response function ----------


#: Field types the fake cannot fit, the value a test gives, and what pydantic says of the fake's.
UNFIT: list[tuple[str, Any, Any, str]] = [
    ("NaiveDatetime", pydantic.NaiveDatetime, "2024-01-01T00:00:00", "timezone_naive"),
    ("FutureDate", pydantic.FutureDate, "2999-01-01", "date_future"),
    ("FutureDatetime", pydantic.FutureDatetime, "2999-01-01T00:00:00Z", "datetime_future"),
    ("condate", pydantic.condate(gt=datetime.date(2999, 1, 1)), "3000-01-01", "greater_than"),
    ("complex", complex, "1+2j", "complex"),
    *[
        (name, getattr(pydantic, name), url, "url_scheme")
        for name, url in [
            ("RedisDsn", "redis://localhost:6379/0"),
            ("AmqpDsn", "amqp://localhost"),
            ("KafkaDsn", "kafka://localhost:9092"),
            ("MySQLDsn", "mysql://user@localhost/db"),
            ("MariaDBDsn", "mariadb://user@localhost/db"),
            ("CockroachDsn", "cockroachdb://user@localhost/db"),
            ("ClickHouseDsn", "clickhouse://localhost/db"),
            ("SnowflakeDsn", "snowflake://user@account/db"),
            ("FileUrl", "file:///tmp/a"),
            ("FtpUrl", "ftp://example.com/a"),
            ("WebsocketUrl", "wss://example.com/a"),
            ("AnyWebsocketUrl", "wss://example.com/a"),
            ("MongoDsn", "mongodb://localhost/db"),
            ("NatsDsn", "nats://localhost:4222"),
        ]
    ],
]
try:  # pydantic_extra_types is an extra; these rows need it
    from pydantic_extra_types.domain import DomainStr
    from pydantic_extra_types.isbn import ISBN
    from pydantic_extra_types.mac_address import MacAddress
    from pydantic_extra_types.payment import PaymentCardNumber
    from pydantic_extra_types.routing_number import ABARoutingNumber
except ImportError:  # pragma: no cover - the dev environment has it
    pass
else:
    UNFIT += [
        ("MacAddress", MacAddress, "00:1b:44:11:3a:b7", "mac_address"),
        ("PaymentCardNumber", PaymentCardNumber, "4000000000000002", "payment_card_number"),
        ("ISBN", ISBN, "9780306406157", "isbn"),
        ("DomainStr", DomainStr, "example.com", "domain"),
        ("ABARoutingNumber", ABARoutingNumber, "122105155", "aba_routing_number"),
    ]


@pytest.mark.parametrize(("name", "kind", "value", "error"), UNFIT, ids=[r[0] for r in UNFIT])
def test_a_type_whose_schema_says_too_little_is_in_the_docs_and_a_response_gives_it(
    name, kind, value, error
):
    model = one_field(kind)
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(answer(model))  # if this passes, the docs' table is out of date
    assert info.value.errors()[0]["type"].startswith(error)
    assert re.search(rf"`{name}\b", DOCS.read_text(encoding="utf-8")), name

    def given(request: ModelRequest) -> str:
        return json.dumps({**fake_value(request.output_schema), "value": value})

    model.model_validate(answer(model, FakeProvider(responses={"extract": given})))


# --- the property: a model of supported field types always gets an answer it takes -------------


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Point(BaseModel):
    x: int
    y: float = 0.0


class Rank(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: str


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


SCALARS: list[Any] = [
    str,
    int,
    float,
    bool,
    decimal.Decimal,
    uuid.UUID,
    pydantic.UUID4,
    datetime.date,
    datetime.datetime,
    datetime.time,
    datetime.timedelta,
    pydantic.AwareDatetime,
    pydantic.PastDate,
    pydantic.AnyUrl,
    pydantic.HttpUrl,
    pydantic.PostgresDsn,
    pydantic.IPvAnyAddress,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    pydantic.IPvAnyNetwork,
    pydantic.Base64Str,
    Colour,
    Literal["low", "high"],
    Point,
    Host,
    Annotated[int, Field(ge=3, le=9, multiple_of=3)],
    Annotated[float, Field(gt=0, lt=1)],
    Annotated[str, Field(min_length=3, max_length=8)],
    Annotated[str, Field(pattern=r"^[A-Z]{2}-\d{3}$")],
    pydantic.conlist(int, min_length=2, max_length=4),
    pydantic.condecimal(gt=0, max_digits=3, decimal_places=1),
    pydantic.confloat(multiple_of=0.25, ge=1),
    pydantic.conint(gt=5, lt=7),
    pydantic.NonNegativeInt,
    pydantic.PositiveFloat,
    pydantic.StrictBool,
    pydantic.ByteSize,
    pydantic.SecretStr,
    pydantic.Json[list[int]],
    pydantic.Base64Bytes,
    pydantic.UUID1,
    pydantic.IPvAnyInterface,
    bytes,
    frozenset[int],
    set[Literal["x", "y"]],
    tuple[int, str],
    dict[int, str],
    Rank,
    Literal[1, 2],
    Pet,
    Tree,
]
try:  # pydantic_extra_types is an extra
    from pydantic_extra_types.color import Color
    from pydantic_extra_types.coordinate import Coordinate
except ImportError:  # pragma: no cover - the dev environment has it
    pass
else:
    SCALARS += [Color, Coordinate]


@st.composite
def field_types(draw: Any, depth: int = 2) -> Any:
    kind = draw(st.sampled_from(SCALARS))
    if depth and draw(st.booleans()):
        wrap = draw(st.sampled_from(["optional", "list", "dict", "union"]))
        inner = draw(field_types(depth - 1))
        if wrap == "optional":
            return inner | None
        if wrap == "list":
            return list[inner]
        if wrap == "dict":
            return dict[str, inner]
        return inner | draw(field_types(0))
    return kind


@settings(max_examples=40)
@given(st.lists(field_types(), min_size=1, max_size=5), st.integers(0, 3))
def test_a_model_of_supported_field_types_always_gets_an_answer_it_takes(kinds, optional):
    fields = {f"f{n}": (kind, ...) for n, kind in enumerate(kinds)}
    fields.update({f"o{n}": (kinds[0] | None, None) for n in range(optional)})
    model = pydantic.create_model("Drawn", **fields)
    request = ModelRequest("n", "a", "Go.", output_schema=model.model_json_schema())
    text = asyncio.run(FakeProvider().complete(request))
    model.model_validate_json(text)
