"""Code lists of the technology market: fields, IP status, modes, stages and reasons."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "AchievementType",
    "ApplicationStatus",
    "AssessmentDecision",
    "ChallengeStatus",
    "CooperationMode",
    "DealStage",
    "DeclineReason",
    "EoiStatus",
    "IpStatus",
    "ListingKind",
    "ListingStatus",
    "NotificationEvent",
    "PartnerType",
    "SelectionMode",
    "TechField",
    "Tier",
    "TransactionMode",
]


class TechField(models.TextChoices):
    """The 11 technology fields of the contract statistics, in report order."""

    ELECTRONIC_INFO = "electronic_info", _("电子信息技术")
    AEROSPACE = "aerospace", _("航空航天技术")
    ADVANCED_MANUFACTURING = "advanced_manufacturing", _("先进制造技术")
    BIO_MEDICAL = "bio_medical", _("生物、医药和医疗器械技术")
    NEW_MATERIALS = "new_materials", _("新材料及其应用")
    NEW_ENERGY = "new_energy", _("新能源与高效节能")
    ENVIRONMENT = "environment", _("环境保护与资源综合利用技术")
    NUCLEAR = "nuclear", _("核应用技术")
    AGRICULTURE = "agriculture", _("农业技术")
    TRANSPORT = "transport", _("现代交通")
    URBAN_SOCIAL = "urban_social", _("城市建设与社会发展")


class ListingKind(models.TextChoices):
    """Offer (科技成果) or request (技术需求)."""

    OFFER = "offer", _("科技成果")
    REQUEST = "request", _("技术需求")


class ListingStatus(models.TextChoices):
    """Lifecycle of a listing."""

    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    CHANGES_REQUESTED = "changes_requested", _("退回修改")
    APPROVED = "approved", _("已审核")
    PUBLISHED = "published", _("已发布")
    REJECTED = "rejected", _("未通过")
    ARCHIVED = "archived", _("已归档")


class IpStatus(models.TextChoices):
    """IP status (EEN): none, secret know-how, applied for, granted."""

    NONE = "none", _("无知识产权")
    SECRET = "secret", _("技术秘密")
    APPLIED = "applied", _("已申请")
    GRANTED = "granted", _("已授权")


class AchievementType(models.TextChoices):
    """What kind of result an offer is."""

    PATENT = "patent", _("专利")
    SOFTWARE = "software", _("计算机软件著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计")
    PLANT_VARIETY = "plant_variety", _("植物新品种")
    BIOMED_VARIETY = "biomed_variety", _("生物医药新品种")
    KNOW_HOW = "know_how", _("技术秘密")


class CooperationMode(models.TextChoices):
    """How the parties would work together."""

    TRANSFER = "transfer", _("转让")
    LICENCE = "licence", _("许可")
    EQUITY = "equity", _("作价投资")
    JOINT_DEV = "joint_dev", _("合作开发")
    SERVICE = "service", _("技术服务")
    CONSULTING = "consulting", _("技术咨询")


class TransactionMode(models.TextChoices):
    """How the price is set."""

    NEGOTIATED = "negotiated", _("协议定价")
    LISTING = "listing", _("挂牌交易")
    AUCTION = "auction", _("拍卖")
    BIDDING = "bidding", _("竞价")


class PartnerType(models.TextChoices):
    """Kinds of partner sought (one to three)."""

    ENTERPRISE = "enterprise", _("企业")
    UNIVERSITY = "university", _("高等院校")
    INSTITUTE = "institute", _("科研机构")
    INVESTOR = "investor", _("投资机构")
    INTERMEDIARY = "intermediary", _("技术转移机构")


class Tier(models.IntegerChoices):
    """Disclosure tiers: what a viewer may see of a listing or an attachment."""

    TEASER = 1, _("公开摘要")
    SUMMARY = 2, _("登录可见")
    FULL = 3, _("签署保密协议后可见")


class EoiStatus(models.TextChoices):
    """State of an expression of interest."""

    SENT = "sent", _("待回复")
    ACCEPTED = "accepted", _("已接受")
    DECLINED = "declined", _("已婉拒")
    WITHDRAWN = "withdrawn", _("已撤回")


class DeclineReason(models.TextChoices):
    """One-click reasons to decline an expression of interest."""

    TOO_EARLY = "too_early", _("技术尚不成熟")
    BENEFIT_UNCLEAR = "benefit_unclear", _("收益不明确")
    PRICE = "price", _("价格不合适")
    IP = "ip", _("知识产权问题")
    CAPACITY = "capacity", _("暂无承接能力")
    NOT_RELEVANT = "not_relevant", _("与需求无关")
    OTHER = "other", _("其他")


class DealStage(models.TextChoices):
    """The broker pipeline, in order."""

    INTRO = "intro", _("对接引荐")
    NDA = "nda", _("签署保密协议")
    DUE_DILIGENCE = "due_diligence", _("尽职调查")
    TERMS = "terms", _("商务谈判")
    SIGNED = "signed", _("合同签订")
    REGISTERED = "registered", _("合同登记")
    CLOSED_WON = "closed_won", _("成交结案")
    CLOSED_LOST = "closed_lost", _("未成交")


class ChallengeStatus(models.TextChoices):
    """Lifecycle of an open challenge (揭榜挂帅)."""

    DRAFT = "draft", _("草稿")
    OPEN = "open", _("揭榜中")
    REVIEWING = "reviewing", _("评审中")
    RUNNING = "running", _("攻关中")
    ACCEPTED = "accepted", _("已验收")
    CLOSED = "closed", _("已结束")


class SelectionMode(models.TextChoices):
    """One team, or 2–3 teams racing in parallel (赛马)."""

    SINGLE = "single", _("单一团队")
    PARALLEL = "parallel", _("赛马（并行）")


class ApplicationStatus(models.TextChoices):
    """State of a team's application to a challenge."""

    SUBMITTED = "submitted", _("已揭榜")
    SELECTED = "selected", _("已入选")
    NOT_SELECTED = "not_selected", _("未入选")
    ELIMINATED = "eliminated", _("已淘汰")
    MERGED = "merged", _("已合并")
    ACCEPTED = "accepted", _("已验收")


class AssessmentDecision(models.TextChoices):
    """Decision of a milestone assessment."""

    CONTINUE = "continue", _("继续")
    MERGE = "merge", _("合并")
    ELIMINATE = "eliminate", _("淘汰")


class NotificationEvent(models.TextChoices):
    """Events a user may be notified of; preferences are per event."""

    LISTING_REVIEWED = "listing_reviewed", _("发布审核结果")
    LISTING_EXPIRING = "listing_expiring", _("发布即将到期")
    NDA_ACCEPTED = "nda_accepted", _("保密协议签署")
    EOI_RECEIVED = "eoi_received", _("收到合作意向")
    EOI_DECIDED = "eoi_decided", _("合作意向已回复")
    DEAL_UPDATED = "deal_updated", _("交易进展")
    MATCH_ALERT = "match_alert", _("匹配推荐")
    SAVED_SEARCH = "saved_search", _("订阅检索")
    CHALLENGE_UPDATED = "challenge_updated", _("揭榜挂帅动态")
