"""The market loop in a browser: request → recommended offer → NDA → EoI → deal → registered."""

from __future__ import annotations

import pytest

from techexchange.accounts.models import OrgRole
from techexchange.accounts.tests.factories import (
    PASSWORD,
    grant,
    make_centre,
    make_member,
    make_user,
)
from techexchange.contracts.selectors import list_contracts_for
from techexchange.market.codes import ListingKind
from techexchange.market.tests.factories import (
    ah_enterprise,
    offer_input,
    operator,
    published,
    zj_university,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, user):
    page.context.clear_cookies()
    page.goto(base + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("[data-testid=login-form] button[type=submit]").click()
    page.wait_for_selector("[data-testid=profile-link]")


def test_anhui_request_meets_zhejiang_offer_and_ends_as_a_registered_contract(
    live_server, page, settings, tmp_path
):
    settings.MARKET_INDEX_DIR = str(tmp_path / "idx")
    from techexchange.market import matching

    matching.reset_indexes()
    uni = zj_university()
    offer = published(ListingKind.OFFER, uni, offer_input())
    published(
        ListingKind.OFFER,
        zj_university(),
        offer_input(
            title_zh="水稻病虫害智能识别系统",
            summary_zh="基于图像识别的水稻病虫害诊断平台，识别准确率超过百分之九十五，已在多地示范应用。",
            tech_field="agriculture",
            tech_keywords=["图像识别", "病虫害"],
            chain_node="应用",
            maturity=8,
        ),
    )
    firm = ah_enterprise()
    buyer = make_member(firm, OrgRole.ADMIN, username="ah_admin")
    seller = make_member(uni, OrgRole.ADMIN, username="zj_tto")
    broker = make_user("hf_broker")
    grant(broker, "broker", centre=make_centre(city="340100"))
    registrar = make_user("zj_registrar")
    grant(registrar, "registrar", region_id="330000")
    base = live_server.url

    # 1. The Anhui enterprise posts a request.
    _sign_in(page, base, buyer)
    page.goto(base + "/market/")
    page.get_by_test_id("new-request").click()
    page.fill("input[name=title_zh]", "寻求全固态锂电池固态电解质技术")
    page.fill(
        "textarea[name=summary_zh]",
        "动力电池企业拟开发全固态锂电池，寻求高离子电导率固态电解质材料及量产工艺。",
    )
    page.fill("textarea[name=problem]", "需要室温离子电导率不低于每厘米五毫西门子的固态电解质。")
    page.select_option("select[name=tech_field]", "new_energy")
    page.fill("input[name=tech_keywords]", "固态电解质, 锂电池")
    page.check("input[name=cooperation_modes][value=licence]")
    page.check("input[name=target_regions][value='330000']")
    page.fill("input[name=maturity_min]", "5")
    page.fill("input[name=maturity_max]", "8")
    page.fill("input[name=budget_max]", "2000000")
    page.locator("[data-testid=listing-form] button[type=submit]").click()

    # 2. The Zhejiang university's offer is recommended first, with a reason.
    recs = page.get_by_test_id("recommendations")
    first_row = recs.locator("tr").nth(1)
    assert offer.title_zh in first_row.inner_text()
    assert "推荐理由" in first_row.inner_text() and "浙江" in first_row.inner_text()

    # 3. The enterprise accepts the NDA and sees the details.
    first_row.get_by_text(offer.title_zh).click()
    assert page.get_by_test_id("locked").is_visible()
    page.get_by_test_id("accept-nda").click()
    assert "机械球磨" in page.get_by_test_id("description").inner_text()

    # 4. It sends an expression of interest.
    page.fill("textarea[name=message]", "希望以专利实施许可方式合作，请安排技术交流。")
    page.select_option("select[name=intended_mode]", "licence")
    page.get_by_test_id("send-eoi").click()
    page.wait_for_selector(".messages")

    # The university accepts it.
    _sign_in(page, base, seller)
    page.goto(base + "/market/eois/")
    page.get_by_test_id("accept-eoi").click()
    page.wait_for_selector(".messages")

    # 5. A broker opens the deal and moves it to signed.
    _sign_in(page, base, broker)
    page.goto(base + "/market/deals/")
    page.get_by_test_id("create-deal").click()
    page.select_option("select[name=stage]", "signed")
    page.fill("input[name=amount]", "1200000")
    page.get_by_test_id("move-deal").click()
    assert page.get_by_test_id("deal-stage").inner_text() == "合同签订"
    deal_url = page.url

    # 6. The registration is pre-filled, submitted and registered.
    _sign_in(page, base, seller)
    page.goto(deal_url)
    page.get_by_test_id("prefill").click()
    reg = page.get_by_test_id("registration").inner_text()
    assert uni.name_zh in reg and firm.name_zh in reg and "技术许可" in reg and "1200000" in reg
    page.get_by_test_id("submit-registration").click()
    _sign_in(page, base, registrar)
    page.goto(deal_url)
    page.get_by_test_id("register").click()
    number = page.get_by_test_id("registration-number").inner_text()
    assert len(number) == 16 and number.isdigit()

    # 7. The statistics count it as Zhejiang → Anhui.
    page.goto(base + "/market/")
    flows = page.get_by_test_id("flows").inner_text()
    assert "浙江" in flows and "安徽" in flows and "1200000" in flows
    counted = list_contracts_for(operator(), status="registered")
    assert [(c.seller_province, c.buyer_province) for c in counted] == [("330000", "340000")]
