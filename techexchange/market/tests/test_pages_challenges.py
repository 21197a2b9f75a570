"""Pages of open challenges (揭榜挂帅): create, publish, Q&A, apply, review, select, assess, pay."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from techexchange.accounts.models import Organisation, OrgRole, User
from techexchange.accounts.tests.factories import make_member, make_organisation, make_user
from techexchange.core import clock
from techexchange.core.audit import entries_for
from techexchange.market import services
from techexchange.market.codes import ApplicationStatus, ChallengeStatus
from techexchange.market.models import (
    Challenge,
    ChallengeApplication,
    ChallengeQuestion,
    ExpertReview,
    MilestoneAssessment,
    MilestonePayment,
)
from techexchange.market.tests.factories import NOW

pytestmark = pytest.mark.django_db

DEADLINE = NOW + timedelta(days=30)
AFTER = DEADLINE + timedelta(days=1)


@pytest.fixture
def at(monkeypatch):
    """Set the clock the views read."""

    def set_(when: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: when)

    set_(NOW)
    return set_


def _form(sponsor: Organisation, **kw: str) -> dict[str, str]:
    data = {
        "sponsor": str(sponsor.pk),
        "programme": "2026年长三角揭榜挂帅专项",
        "title_zh": "车规级碳化硅功率模块封装攻关",
        "problem": "现有封装热阻高，模块结温超过175℃时可靠性不足。",
        "objectives": "结壳热阻 | ≤0.1 K/W | 第三方测试 | 60\n"
        "功率循环寿命 | ≥50万次 | 用户单位台架 | 40",
        "reward": "6000000",
        "funding_model": "发榜方出资，省财政配套30%",
        "selection_mode": "parallel",
        "max_teams": "2",
        "milestones": "样品验证 | 6 | 30\n小批量验证 | 12 | 70",
        "eligibility": "不设年龄、学历、职称限制",
        "ip_terms": "成果归揭榜方，发榜方享有优先受让权",
        "deadline": DEADLINE.strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(kw)
    return data


def _draft(admin: User, sponsor: Organisation, **kw) -> Challenge:
    data = services.ChallengeInput(
        title_zh="车规级碳化硅功率模块封装攻关",
        problem="热阻高",
        reward=Decimal("6000000"),
        deadline=DEADLINE,
        selection_mode="parallel",
        max_teams=2,
        objectives=[{"metric": "热阻", "target": "≤0.1", "verification": "测试", "weight": 100}],
        milestones=[
            {"title": "样品验证", "months": 6, "payment_share": 30},
            {"title": "小批量验证", "months": 12, "payment_share": 70},
        ],
        **kw,
    )
    return services.create_challenge(actor=admin, sponsor=sponsor, data=data, now=NOW)


def _open(admin, sponsor, experts=(), **kw) -> Challenge:
    ch = _draft(admin, sponsor, **kw)
    return services.publish_challenge(actor=admin, challenge=ch, experts=list(experts), now=NOW)


def _apply(ch: Challenge) -> ChallengeApplication:
    org = make_organisation()
    return services.apply_to_challenge(
        actor=make_member(org),
        challenge=ch,
        organisation=org,
        team=[{"name": "张工", "role": "负责人"}],
        route="银烧结双面散热",
        now=NOW,
    )


def test_sponsor_admin_creates_a_challenge_with_objectives_milestones_and_co_funders(client, at):
    sponsor = make_organisation()
    end_user = make_organisation()
    funder = make_organisation()
    client.force_login(make_member(sponsor, OrgRole.ADMIN))
    page = client.get(reverse("market:new_challenge"))
    assert page.status_code == 200 and "量化考核指标" in page.content.decode()
    r = client.post(
        reverse("market:new_challenge"),
        _form(sponsor, end_user=str(end_user.pk), co_funders=str(funder.pk)),
    )
    ch = Challenge.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("market:challenge", args=[ch.pk])
    assert ch.status == ChallengeStatus.DRAFT and ch.end_user == end_user
    assert list(ch.co_funders.all()) == [funder]
    assert ch.programme is not None and ch.programme.name_zh == "2026年长三角揭榜挂帅专项"
    assert [(o.metric, o.weight) for o in ch.objectives.order_by("pk")] == [
        ("结壳热阻", 60),
        ("功率循环寿命", 40),
    ]
    assert [m.payment_share for m in ch.milestones.all()] == [Decimal(30), Decimal(70)]
    assert entries_for(ch).filter(action="market.challenge.create").exists()


def test_weights_not_adding_up_and_bad_rows_are_shown_next_to_their_fields(client, at):
    sponsor = make_organisation()
    client.force_login(make_member(sponsor, OrgRole.ADMIN))
    r = client.post(
        reverse("market:new_challenge"),
        _form(sponsor, objectives="结壳热阻 | ≤0.1 | 测试 | 50", max_teams="1"),
    )
    assert r.status_code == 400
    assert r.context["form"].errors["objectives"] == ["考核指标权重之和须为100"]
    assert r.context["form"].errors["max_teams"] == ["赛马遴选须为2至3个团队"]
    body = r.content.decode()
    assert 'data-field="objectives"' in body and 'data-field="max_teams"' in body
    r = client.post(
        reverse("market:new_challenge"), _form(sponsor, milestones="样品 | 六个月", deadline="x")
    )
    assert r.status_code == 400
    assert set(r.context["form"].errors) == {"milestones", "deadline"}
    assert not Challenge.objects.exists()


def test_a_member_who_administers_no_organisation_cannot_create_a_challenge(client, at):
    sponsor = make_organisation()
    client.force_login(make_member(sponsor))  # a plain member, not an administrator
    page = client.get(reverse("market:new_challenge"))
    assert 'data-testid="no-sponsor"' in page.content.decode()
    r = client.post(reverse("market:new_challenge"), _form(sponsor))
    assert r.status_code == 400 and "sponsor" in r.context["form"].errors
    assert not Challenge.objects.exists()


def test_sponsor_publishes_with_experts_and_outsiders_see_no_publish_button(client, at):
    sponsor = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    ch = _draft(admin, sponsor)
    expert = make_user("senior_expert")
    client.force_login(admin)
    page = client.get(reverse("market:challenge", args=[ch.pk]))
    assert 'data-testid="publish-form"' in page.content.decode()
    r = client.post(reverse("market:publish_challenge", args=[ch.pk]), {"experts": "nobody"})
    assert r.status_code == 400
    assert "nobody" in r.context["publish_form"].errors["experts"][0]
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.DRAFT
    r = client.post(reverse("market:publish_challenge", args=[ch.pk]), {"experts": expert.username})
    assert r.status_code == 302
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.OPEN and list(ch.experts.all()) == [expert]
    assert entries_for(ch).filter(action="market.challenge.publish").exists()

    outsider = make_member(make_organisation(), OrgRole.ADMIN)
    client.force_login(outsider)
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert 'data-testid="publish-form"' not in page and 'data-testid="apply-form"' in page


def test_an_outsider_cannot_publish_someone_elses_draft(client, at):
    sponsor = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    ch = _draft(admin, sponsor)
    client.force_login(make_user())
    r = client.post(reverse("market:publish_challenge", args=[ch.pk]), {"experts": ""})
    assert r.status_code == 404  # a draft is visible to its sponsor only
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.DRAFT


def test_questions_are_answered_by_the_sponsor_and_visible_to_every_applicant(client, at):
    sponsor = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    ch = _open(admin, sponsor)
    asker = make_member(make_organisation())
    client.force_login(asker)
    r = client.post(reverse("market:ask_question", args=[ch.pk]), {"question": "  "})
    assert r.status_code == 400 and "question" in r.context["question_form"].errors
    r = client.post(reverse("market:ask_question", args=[ch.pk]), {"question": "接受联合体吗？"})
    assert r.status_code == 302
    q = ChallengeQuestion.objects.get()
    assert entries_for(q).filter(action="market.challenge.ask").exists()
    # The asker may not answer it.
    r = client.post(reverse("market:answer_question", args=[ch.pk, q.pk]), {"answer": "接受"})
    assert r.status_code == 403
    q.refresh_from_db()
    assert q.answer == ""

    client.force_login(admin)
    r = client.post(reverse("market:answer_question", args=[ch.pk, q.pk]), {"answer": ""})
    assert r.status_code == 400
    r = client.post(
        reverse("market:answer_question", args=[ch.pk, q.pk]),
        {"answer": "接受，牵头单位须为揭榜方"},
    )
    assert r.status_code == 302
    q.refresh_from_db()
    assert q.answer == "接受，牵头单位须为揭榜方"
    assert entries_for(q).filter(action="market.challenge.answer").exists()

    client.force_login(make_member(make_organisation()))
    assert (
        "接受，牵头单位须为揭榜方"
        in client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    )


def test_a_team_applies_once_with_its_members_route_and_plan(client, at):
    sponsor = make_organisation()
    ch = _open(make_member(sponsor, OrgRole.ADMIN), sponsor)
    team_org = make_organisation()
    lead = make_member(team_org)
    client.force_login(lead)
    r = client.post(
        reverse("market:apply_challenge", args=[ch.pk]), {"team": " | 负责人", "route": ""}
    )
    assert r.status_code == 400
    assert set(r.context["apply_form"].errors) == {"team", "route"}
    assert not ChallengeApplication.objects.exists()
    r = client.post(
        reverse("market:apply_challenge", args=[ch.pk]),
        {
            "team": "张工 | 负责人\n李博士 | 封装",
            "route": "银烧结双面散热",
            "milestone_plan": "6个月出样",
        },
    )
    assert r.status_code == 302
    app = ChallengeApplication.objects.get()
    assert app.organisation == team_org and app.team[1] == {"name": "李博士", "role": "封装"}
    assert entries_for(app).filter(action="market.challenge.apply").exists()
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert 'data-testid="apply-form"' not in page  # already applied


def test_the_sponsor_cannot_apply_to_its_own_challenge_and_late_teams_are_told_why(client, at):
    sponsor = make_organisation()
    ch = _open(make_member(sponsor, OrgRole.ADMIN), sponsor)
    client.force_login(make_member(sponsor))
    body = {"team": "张工", "route": "路线"}
    r = client.post(reverse("market:apply_challenge", args=[ch.pk]), body)
    assert r.status_code == 403
    at(AFTER)
    client.force_login(make_member(make_organisation()))
    r = client.post(reverse("market:apply_challenge", args=[ch.pk]), body)
    assert r.status_code == 400 and "榜单不在揭榜期内" in r.content.decode()
    assert not ChallengeApplication.objects.exists()


def test_experts_score_with_conflicts_flagged_and_others_cannot_review(client, at):
    sponsor = make_organisation()
    expert = make_user("expert_a")
    ch = _open(make_member(sponsor, OrgRole.ADMIN), sponsor, experts=[expert])
    app = _apply(ch)
    insider = make_member(app.organisation)
    ch.experts.add(insider)
    url = reverse("market:review_application", args=[ch.pk, app.pk])

    client.force_login(expert)
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert f'data-testid="review-form-{app.pk}"' in page
    r = client.post(url, {"score": "120"})
    assert r.status_code == 400
    row = next(x for x in r.context["rows"] if x["app"].pk == app.pk)
    assert "score" in row["review_form"].errors
    r = client.post(url, {"score": "85", "comment": "路线可行", "conflict_declared": "on"})
    assert r.status_code == 302
    review = ExpertReview.objects.get(expert=expert)
    assert review.score == 85 and review.conflict_declared and not review.conflict_flagged
    assert entries_for(review).filter(action="market.challenge.review").exists()

    client.force_login(insider)
    client.post(url, {"score": "99"})
    assert ExpertReview.objects.get(expert=insider).conflict_flagged

    client.force_login(make_member(make_organisation()))
    assert client.post(url, {"score": "10"}).status_code == 403
    assert ExpertReview.objects.count() == 2


def test_parallel_teams_are_selected_assessed_paid_and_accepted_by_the_end_user(client, at):
    sponsor = make_organisation()
    end_user = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    end_admin = make_member(end_user, OrgRole.ADMIN)
    ch = _open(admin, sponsor, end_user_id=end_user.pk)
    a, b, c = _apply(ch), _apply(ch), _apply(ch)
    client.force_login(end_admin)
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert "揭榜截止后可遴选团队" in page and 'data-testid="select-teams"' not in page

    at(AFTER)
    sel = reverse("market:select_teams", args=[ch.pk])
    r = client.post(sel, {"applications": [a.pk, b.pk, c.pk]})
    assert r.status_code == 400 and 'data-field="applications"' in r.content.decode()
    assert client.post(sel, {"applications": [a.pk, b.pk]}).status_code == 302
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.RUNNING
    assert entries_for(ch).filter(action="market.challenge.select").exists()

    first, second = ch.milestones.all()
    assess = reverse("market:assess_milestone", args=[ch.pk, b.pk])
    r = client.post(assess, {"milestone": first.pk, "decision": "eliminate", "note": ""})
    assert r.status_code == 400
    row = next(x for x in r.context["rows"] if x["app"].pk == b.pk)
    assert row["assess_form"].errors["note"] == ["淘汰须说明理由"]
    r = client.post(assess, {"milestone": first.pk, "decision": "eliminate", "note": "热阻未达标"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == ApplicationStatus.ELIMINATED

    client.post(
        reverse("market:assess_milestone", args=[ch.pk, a.pk]),
        {"milestone": first.pk, "decision": "continue"},
    )
    assessment = MilestoneAssessment.objects.get(application=a)
    assert entries_for(assessment).filter(action="market.challenge.assess").exists()
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert f'data-testid="pay-{a.pk}-{first.pk}"' in page
    assert f'data-testid="pay-{a.pk}-{second.pk}"' not in page  # not assessed yet
    client.post(reverse("market:pay_milestone", args=[ch.pk, a.pk, first.pk]))
    pay = MilestonePayment.objects.get()
    assert pay.amount == Decimal("900000.00")
    assert entries_for(pay).filter(action="market.challenge.pay").exists()
    # Paying an unassessed milestone is refused with a message, nothing written.
    r = client.post(reverse("market:pay_milestone", args=[ch.pk, a.pk, second.pk]), follow=True)
    assert "该节点未通过评估，不能拨付" in r.content.decode()
    assert MilestonePayment.objects.count() == 1

    # An applicant cannot assess, pay or accept.
    client.force_login(make_member(a.organisation))
    assert client.post(reverse("market:accept_result", args=[ch.pk, a.pk])).status_code == 403
    assert (
        client.post(reverse("market:pay_milestone", args=[ch.pk, a.pk, second.pk])).status_code
        == 403
    )

    client.force_login(end_admin)
    client.post(reverse("market:accept_result", args=[ch.pk, a.pk]))
    a.refresh_from_db()
    ch.refresh_from_db()
    assert a.status == ApplicationStatus.ACCEPTED and ch.status == ChallengeStatus.ACCEPTED
    assert entries_for(a).filter(action="market.challenge.accept").exists()
    page = client.get(reverse("market:challenge", args=[ch.pk]))
    assert [s for _label, s in page.context["steps"]] == ["done"] * 5


def test_the_page_shows_each_step_and_hides_decisions_from_applicants(client, at):
    sponsor = make_organisation()
    ch = _open(make_member(sponsor, OrgRole.ADMIN), sponsor)
    app = _apply(ch)
    client.force_login(make_member(app.organisation))
    page = client.get(reverse("market:challenge", args=[ch.pk]))
    assert [s for _label, s in page.context["steps"]] == ["done", "current", "todo", "todo", "todo"]
    body = page.content.decode()
    assert 'data-testid="select-form"' not in body and "review-form" not in body
    # An applicant sees its own application only.
    other = _apply(ch)
    page = client.get(reverse("market:challenge", args=[ch.pk]))
    assert [r["app"].pk for r in page.context["rows"]] == [app.pk]
    assert other.pk != app.pk


def test_anonymous_visitors_read_the_challenge_and_are_offered_no_action(client, at):
    sponsor = make_organisation()
    ch = _open(make_member(sponsor, OrgRole.ADMIN), sponsor)
    _apply(ch)
    page = client.get(reverse("market:challenge", args=[ch.pk]))
    assert page.status_code == 200 and page.context["rows"] == []
    body = page.content.decode()
    assert "ask-form" not in body and "apply-form" not in body and "publish-form" not in body
    r = client.post(reverse("market:ask_question", args=[ch.pk]), {"question": "匿名提问"})
    assert r.status_code == 302 and "login" in r["Location"]
    assert not ChallengeQuestion.objects.exists()


def test_a_racing_team_is_merged_into_another_selected_team(client, at):
    sponsor = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    ch = _open(admin, sponsor)
    a, b = _apply(ch), _apply(ch)
    at(AFTER)
    services.select_teams(actor=admin, challenge=ch, application_ids=[a.pk, b.pk], now=AFTER)
    first = ch.milestones.first()
    assert first is not None
    client.force_login(admin)
    url = reverse("market:assess_milestone", args=[ch.pk, b.pk])
    r = client.post(url, {"milestone": first.pk, "decision": "merge"})
    assert r.status_code == 400
    row = next(x for x in r.context["rows"] if x["app"].pk == b.pk)
    assert row["assess_form"].errors["merge_into"] == ["请指定并入的在研团队"]
    r = client.post(url, {"milestone": first.pk, "decision": "merge", "merge_into": a.pk})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == ApplicationStatus.MERGED and b.merged_into_id == a.pk
    page = client.get(reverse("market:challenge", args=[ch.pk])).content.decode()
    assert f'data-testid="assess-form-{b.pk}"' not in page
    assert f'data-testid="assess-form-{a.pk}"' in page
