"""API schemas of the market: separate input and output shapes; hidden fields are null."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field


class RefOut(Schema):
    """A reference: id and name."""

    id: int
    name: str


class ProvinceOut(Schema):
    """A province code and name."""

    code: str
    name: str


class AttachmentOut(Schema):
    """An attachment's name and tier; `visible` says whether the caller may open it."""

    id: int
    name: str
    tier: int
    visible: bool


class ListingOut(Schema):
    """A listing at the caller's tier: 1 teaser, 2 signed-in summary, 3 full (NDA)."""

    id: int
    kind: str
    tier: int
    status: str
    title_zh: str
    title_en: str
    tech_field: str
    tech_keywords: list[str]
    market_keywords: list[str]
    cooperation_modes: list[str]
    transaction_mode: str
    open_for_eoi: bool
    maturity: int | None = None
    province: ProvinceOut
    valid_until: datetime | None
    last_confirmed_at: datetime | None
    # summary tier
    owner: RefOut | None = None
    summary_zh: str | None = None
    summary_en: str | None = None
    price_min: str | None = None
    price_max: str | None = None
    budget_min: str | None = None
    budget_max: str | None = None
    ip_status: str | None = None
    achievement_type: str | None = None
    targets: list[dict[str, Any]] | None = None
    partner_types: list[str] | None = None
    target_regions: list[str] | None = None
    chain: str | None = None
    chain_node: str | None = None
    maturity_min: int | None = None
    maturity_max: int | None = None
    # full tier
    description_zh: str | None = None
    description_en: str | None = None
    patent_numbers: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    problem: str | None = None
    acceptance_test: str | None = None
    constraints_text: str | None = None
    attachments: list[AttachmentOut]


class ListingTeaserOut(Schema):
    """A listing in a public list."""

    id: int
    kind: str
    title_zh: str
    title_en: str
    tech_field: str
    province: str

    @staticmethod
    def resolve_province(obj: Any) -> str:
        """The owner's province code."""
        return str(obj.owner.province_id)


class ListingIn(Schema):
    """An offer or a request as submitted (fields of the other kind are ignored)."""

    kind: str = Field(pattern="^(offer|request)$")
    organisation: int | None = None
    centre: int | None = None
    title_zh: str = Field(max_length=100)
    title_en: str = Field("", max_length=150)
    summary_zh: str = Field("", max_length=500)
    summary_en: str = Field("", max_length=800)
    description_zh: str = Field("", max_length=4000)
    description_en: str = Field("", max_length=6000)
    tech_field: str = Field("", max_length=30)
    tech_keywords: list[str] = Field(default_factory=list, max_length=5)
    market_keywords: list[str] = Field(default_factory=list, max_length=5)
    chain: str = Field("", max_length=40)
    chain_node: str = Field("", max_length=40)
    cooperation_modes: list[str] = Field(default_factory=list, max_length=6)
    transaction_mode: str = Field("", max_length=12)
    partner_types: list[str] = Field(default_factory=list, max_length=3)
    target_regions: list[str] = Field(default_factory=list, max_length=10)
    contact_name: str = Field("", max_length=60)
    contact_email: str = Field("", max_length=254)
    contact_phone: str = Field("", max_length=40)
    open_for_eoi: bool = True
    maturity: int | None = Field(None, ge=1, le=9)
    ip_status: str = Field("", max_length=10)
    achievement_type: str = Field("", max_length=20)
    patent_numbers: str = Field("", max_length=300)
    completion_date: date | None = None
    funding_source: str = Field("", max_length=120)
    price_min: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    price_max: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    problem: str = Field("", max_length=2000)
    targets: list[dict[str, str]] = Field(default_factory=list, max_length=20)
    acceptance_test: str = Field("", max_length=1000)
    constraints_text: str = Field("", max_length=1000)
    maturity_min: int | None = Field(None, ge=1, le=9)
    maturity_max: int | None = Field(None, ge=1, le=9)
    acceptable_ip: list[str] = Field(default_factory=list, max_length=4)
    budget_min: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    budget_max: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)


class ReviewIn(Schema):
    """A reviewer's decision with findings."""

    decision: str = Field(pattern="^(approve|changes|reject)$")
    findings: list[dict[str, str]] = Field(default_factory=list, max_length=30)
    reason: str = Field("", max_length=500)


class FindingOut(Schema):
    """A completeness finding."""

    severity: str
    code: str
    field: str
    message: str


class ComponentOut(Schema):
    """One score component with its value, weight and note."""

    name: str
    value: float
    weight: float
    note_zh: str
    note_en: str


class RecommendationOut(Schema):
    """A recommended counterpart with its score components and reason."""

    candidate: int
    title_zh: str
    province: str
    rank: int
    score: float
    components: list[ComponentOut]
    reason_zh: str
    reason_en: str


class NdaIn(Schema):
    """Accept the owner's NDA version on behalf of an organisation."""

    version: int = Field(ge=1)
    organisation: int | None = None


class EoiIn(Schema):
    """An expression of interest."""

    listing: int | None = None
    challenge: int | None = None
    organisation: int | None = None
    message: str = Field(max_length=2000)
    intended_mode: str = Field("", max_length=12)


class EoiDecisionIn(Schema):
    """Accept, or decline with a one-click reason."""

    accept: bool
    reason: str = Field("", max_length=20)
    note: str = Field("", max_length=300)


class EoiOut(Schema):
    """An expression of interest."""

    id: int
    listing_id: int | None
    challenge_id: int | None
    organisation_id: int
    status: str
    decline_reason: str
    message: str
    sent_at: datetime


class DealIn(Schema):
    """Open a deal from an accepted EoI or an offer/request pair."""

    eoi: int | None = None
    offer: int | None = None
    request: int | None = None
    title: str = Field("", max_length=150)


class DealMoveIn(Schema):
    """Move a deal to a stage, recording terms."""

    stage: str = Field(max_length=14)
    amount: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2)
    technical_amount: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2)
    contract_type: str = Field("", max_length=20)
    contract_subtype: str = Field("", max_length=20)
    lost_reason: str = Field("", max_length=300)
    next_action: str = Field("", max_length=200)
    next_action_due: date | None = None


class HandoverIn(Schema):
    """Hand a deal to another sub-centre's broker."""

    centre: int
    broker: int
    note: str = Field("", max_length=300)


class DealOut(Schema):
    """A deal in the pipeline."""

    id: int
    title: str
    stage: str
    seller_id: int
    buyer_id: int
    originating_centre_id: int
    closing_centre_id: int
    amount: Decimal | None
    technical_amount: Decimal | None
    next_action: str
    next_action_due: date | None
    contract_ref: str
    registration_number: str


class ChallengeOut(Schema):
    """An open challenge."""

    id: int
    title_zh: str
    title_en: str
    status: str
    sponsor_id: int
    reward: Decimal
    selection_mode: str
    max_teams: int
    deadline: datetime
    problem: str
    eligibility: str
    ip_terms: str


class ChallengeIn(Schema):
    """A challenge as submitted."""

    sponsor: int
    title_zh: str = Field(max_length=120)
    title_en: str = Field("", max_length=200)
    problem: str = Field(max_length=4000)
    reward: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    deadline: datetime
    tech_field: str = Field("", max_length=30)
    funding_model: str = Field("", max_length=200)
    selection_mode: str = Field("single", pattern="^(single|parallel)$")
    max_teams: int = Field(1, ge=1, le=3)
    ip_terms: str = Field("", max_length=2000)
    programme: str = Field("", max_length=120)
    end_user: int | None = None
    objectives: list[dict[str, Any]] = Field(max_length=20)
    milestones: list[dict[str, Any]] = Field(max_length=12)


class ApplicationIn(Schema):
    """A team's application."""

    organisation: int | None = None
    team: list[dict[str, str]] = Field(max_length=50)
    route: str = Field(max_length=4000)
    milestone_plan: str = Field("", max_length=2000)


class ApplicationOut(Schema):
    """A team's application."""

    id: int
    organisation_id: int
    status: str
    route: str


class ScoreIn(Schema):
    """An expert's score."""

    score: int = Field(ge=0, le=100)
    comment: str = Field("", max_length=2000)
    conflict_declared: bool = False


class SelectIn(Schema):
    """Teams selected."""

    applications: list[int] = Field(max_length=3)


class AssessIn(Schema):
    """A milestone assessment."""

    milestone: int
    decision: str = Field(pattern="^(continue|merge|eliminate)$")
    note: str = Field("", max_length=2000)
    merge_into: int | None = None


class QuestionIn(Schema):
    """A question on a challenge."""

    question: str = Field(max_length=1000)


class NotificationOut(Schema):
    """An in-app notification."""

    id: int
    event: str
    title: str
    url: str
    created_at: datetime
    read_at: datetime | None


class SavedSearchIn(Schema):
    """A saved search."""

    kind: str = Field(pattern="^(offer|request)$")
    query: str = Field(max_length=100)
    tech_field: str = Field("", max_length=30)
    province: str = Field("", max_length=12)


class PreferenceIn(Schema):
    """How one event reaches the caller."""

    event: str = Field(max_length=20)
    in_app: bool = True
    email: str = Field("digest", pattern="^(off|instant|digest)$")


class CrossComponentOut(Schema):
    """One component of a cross-match: value in [0, 1], its weight and a translated note."""

    name: str
    value: float
    weight: float
    note: str


class ResourceMatchOut(Schema):
    """A shared instrument relevant to a listing or a challenge, with its reason."""

    id: int
    name: str
    name_en: str
    holder: str
    province: str
    city: str
    category: str
    price: float | None
    price_unit: str
    modes: list[str]
    score: float
    components: list[CrossComponentOut]
    reason: str


class TeamOfferOut(Schema):
    """An offer that makes an organisation a candidate team."""

    id: int
    title_zh: str
    score: float


class TeamCandidateOut(Schema):
    """An organisation that could take the challenge, scored by its best matching offer."""

    organisation: int
    name: str
    province: str
    score: float
    components: list[CrossComponentOut]
    reason: str
    offers: list[TeamOfferOut]


class ExpertCandidateOut(Schema):
    """An expert of the directory whose research fits the challenge."""

    id: int
    name: str
    title: str
    organisation: str
    fields: str
    province: str
    score: float
    components: list[CrossComponentOut]
    reason: str


class ChallengeCandidatesOut(Schema):
    """Candidate teams and experts of a challenge (never the sponsor's own)."""

    teams: list[TeamCandidateOut]
    experts: list[ExpertCandidateOut]
