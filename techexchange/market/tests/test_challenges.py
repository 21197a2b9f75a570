"""An open challenge (揭榜挂帅) end to end: two parallel teams, one eliminated at a milestone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import make_member, make_organisation, make_user
from techexchange.core.audit import entries_for
from techexchange.core.errors import Conflict, PermissionDenied, ValidationFailed
from techexchange.market import services
from techexchange.market.codes import ApplicationStatus, ChallengeStatus
from techexchange.market.tests.factories import NOW

pytestmark = pytest.mark.django_db


def _challenge(sponsor_admin, sponsor, **kw):
    data = services.ChallengeInput(
        title_zh="车规级碳化硅功率模块封装攻关",
        problem="现有封装热阻高，模块结温超过175℃时可靠性不足。",
        reward=Decimal("6000000"),
        deadline=NOW + timedelta(days=30),
        selection_mode="parallel",
        max_teams=2,
        programme="2026年长三角揭榜挂帅专项",
        objectives=[
            {
                "metric": "结壳热阻",
                "target": "≤0.1 K/W",
                "verification": "第三方测试",
                "weight": 60,
            },
            {
                "metric": "功率循环寿命",
                "target": "≥50万次",
                "verification": "用户单位台架",
                "weight": 40,
            },
        ],
        milestones=[
            {"title": "样品验证", "months": 6, "payment_share": 30},
            {"title": "小批量验证", "months": 12, "payment_share": 70},
        ],
        **kw,
    )
    return services.create_challenge(actor=sponsor_admin, sponsor=sponsor, data=data, now=NOW)


def test_weights_must_add_up_and_single_mode_takes_one_team():
    sponsor = make_organisation()
    admin = make_member(sponsor, OrgRole.ADMIN)
    with pytest.raises(ValidationFailed) as exc:
        services.create_challenge(
            actor=admin,
            sponsor=sponsor,
            data=services.ChallengeInput(
                title_zh="x",
                problem="y",
                reward=Decimal(1),
                deadline=NOW + timedelta(days=1),
                selection_mode="single",
                max_teams=2,
                objectives=[{"metric": "a", "verification": "b", "weight": 50}],
                milestones=[{"title": "m", "payment_share": 100}],
            ),
            now=NOW,
        )
    assert {p.field for p in exc.value.problems} == {"max_teams", "objectives"}


def test_two_parallel_teams_race_and_one_is_eliminated_at_the_first_milestone():
    sponsor = make_organisation(province="310000", city="310100", nature="110")
    end_user = make_organisation(province="340000", city="340100")
    sponsor_admin = make_member(sponsor, OrgRole.ADMIN)
    end_user_admin = make_member(end_user, OrgRole.ADMIN)
    expert = make_user("expert")
    ch = _challenge(sponsor_admin, sponsor, end_user_id=end_user.pk)
    services.publish_challenge(actor=sponsor_admin, challenge=ch, experts=[expert], now=NOW)

    teams = []
    for city in ("320500", "330100", "340100"):
        org = make_organisation(province=city[:2] + "0000", city=city, nature="022")
        lead = make_member(org)
        services.ask_question(actor=lead, challenge=ch, question="是否接受联合体揭榜？", now=NOW)
        teams.append(
            services.apply_to_challenge(
                actor=lead,
                challenge=ch,
                organisation=org,
                team=[{"name": "张工", "role": "负责人"}, {"name": "李博士", "role": "封装"}],
                route="银烧结双面散热封装",
                milestone_plan="6个月出样，12个月小批量",
                now=NOW,
            )
        )
    q = ch.questions.first()
    services.answer_question(
        actor=sponsor_admin, question=q, answer="接受，牵头单位须为揭榜方。", now=NOW
    )
    assert ch.questions.filter(answer__gt="").count() == 1  # visible to every applicant

    # An expert from an applicant's organisation is flagged as a conflict of interest.
    insider = make_member(teams[0].organisation)
    ch.experts.add(insider)
    after = NOW + timedelta(days=31)
    flagged = services.review_application(actor=insider, application=teams[0], score=95, now=after)
    assert flagged.conflict_flagged
    for app, score in zip(teams, (80, 88, 60), strict=True):
        services.review_application(actor=expert, application=app, score=score, now=after)
    with pytest.raises(PermissionDenied):
        services.review_application(actor=make_user(), application=teams[0], score=1, now=after)

    with pytest.raises(ValidationFailed):
        services.select_teams(
            actor=sponsor_admin, challenge=ch, application_ids=[t.pk for t in teams], now=after
        )
    services.select_teams(
        actor=end_user_admin, challenge=ch, application_ids=[teams[0].pk, teams[1].pk], now=after
    )
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.RUNNING

    first, second = ch.milestones.all()
    services.assess_milestone(
        actor=sponsor_admin, application=teams[0], milestone=first, decision="continue", now=after
    )
    services.assess_milestone(
        actor=sponsor_admin,
        application=teams[1],
        milestone=first,
        decision="eliminate",
        note="热阻未达阶段目标",
        now=after,
    )
    pay = services.record_payment(
        actor=sponsor_admin, application=teams[0], milestone=first, now=after
    )
    assert pay.amount == Decimal("900000.00")  # 30 % of 6 M shared by the two racing teams
    with pytest.raises(Conflict):
        services.record_payment(
            actor=sponsor_admin, application=teams[1], milestone=first, now=after
        )
    teams[1].refresh_from_db()
    assert teams[1].status == ApplicationStatus.ELIMINATED

    services.assess_milestone(
        actor=sponsor_admin, application=teams[0], milestone=second, decision="continue", now=after
    )
    services.record_payment(actor=sponsor_admin, application=teams[0], milestone=second, now=after)
    services.accept_challenge_result(actor=end_user_admin, application=teams[0], now=after)
    ch.refresh_from_db()
    assert ch.status == ChallengeStatus.ACCEPTED
    trail = set(entries_for(ch).values_list("action", flat=True))
    assert {
        "market.challenge.create",
        "market.challenge.publish",
        "market.challenge.select",
    } <= trail
