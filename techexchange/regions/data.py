"""Reference data: province-level regions of China, the 41 YRD cities, districts and blocs.

Codes follow GB/T 2260. Two statistical regions stand outside it: `HMT` (港澳台, the group of
Hong Kong, Macao and Taiwan in contract statistics) and `ABROAD` (境外). Blocs are data, not
code: another bloc (Beijing-Tianjin-Hebei, the Greater Bay Area) is one more entry here.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BLOCS", "CITIES", "DISTRICTS", "PROVINCES", "STATISTICAL"]


class Prov(NamedTuple):
    """A province-level region."""

    code: str
    name_zh: str
    name_en: str
    stat_group: str = ""


class City(NamedTuple):
    """A prefecture-level city (or a district/county used by a bloc)."""

    code: str
    name_zh: str
    name_en: str
    lat: float
    lon: float


class BlocData(NamedTuple):
    """A named group of regions."""

    code: str
    name_zh: str
    name_en: str
    description: str
    members: tuple[str, ...]


STATISTICAL: tuple[Prov, ...] = (
    Prov("HMT", "港澳台", "Hong Kong, Macao and Taiwan"),
    Prov("ABROAD", "境外", "Abroad"),
)

PROVINCES: tuple[Prov, ...] = (
    Prov("110000", "北京市", "Beijing"),
    Prov("120000", "天津市", "Tianjin"),
    Prov("130000", "河北省", "Hebei"),
    Prov("140000", "山西省", "Shanxi"),
    Prov("150000", "内蒙古自治区", "Inner Mongolia"),
    Prov("210000", "辽宁省", "Liaoning"),
    Prov("220000", "吉林省", "Jilin"),
    Prov("230000", "黑龙江省", "Heilongjiang"),
    Prov("310000", "上海市", "Shanghai"),
    Prov("320000", "江苏省", "Jiangsu"),
    Prov("330000", "浙江省", "Zhejiang"),
    Prov("340000", "安徽省", "Anhui"),
    Prov("350000", "福建省", "Fujian"),
    Prov("360000", "江西省", "Jiangxi"),
    Prov("370000", "山东省", "Shandong"),
    Prov("410000", "河南省", "Henan"),
    Prov("420000", "湖北省", "Hubei"),
    Prov("430000", "湖南省", "Hunan"),
    Prov("440000", "广东省", "Guangdong"),
    Prov("450000", "广西壮族自治区", "Guangxi"),
    Prov("460000", "海南省", "Hainan"),
    Prov("500000", "重庆市", "Chongqing"),
    Prov("510000", "四川省", "Sichuan"),
    Prov("520000", "贵州省", "Guizhou"),
    Prov("530000", "云南省", "Yunnan"),
    Prov("540000", "西藏自治区", "Tibet"),
    Prov("610000", "陕西省", "Shaanxi"),
    Prov("620000", "甘肃省", "Gansu"),
    Prov("630000", "青海省", "Qinghai"),
    Prov("640000", "宁夏回族自治区", "Ningxia"),
    Prov("650000", "新疆维吾尔自治区", "Xinjiang"),
    Prov("710000", "台湾省", "Taiwan", "HMT"),
    Prov("810000", "香港特别行政区", "Hong Kong", "HMT"),
    Prov("820000", "澳门特别行政区", "Macao", "HMT"),
)

# The 41 prefecture-level cities of the YRD: Shanghai 1, Jiangsu 13, Zhejiang 11, Anhui 16.
CITIES: tuple[City, ...] = (
    City("310100", "上海市", "Shanghai", 31.23, 121.47),
    City("320100", "南京市", "Nanjing", 32.06, 118.80),
    City("320200", "无锡市", "Wuxi", 31.49, 120.31),
    City("320300", "徐州市", "Xuzhou", 34.26, 117.18),
    City("320400", "常州市", "Changzhou", 31.81, 119.97),
    City("320500", "苏州市", "Suzhou", 31.30, 120.58),
    City("320600", "南通市", "Nantong", 31.98, 120.89),
    City("320700", "连云港市", "Lianyungang", 34.60, 119.22),
    City("320800", "淮安市", "Huai'an", 33.61, 119.02),
    City("320900", "盐城市", "Yancheng", 33.35, 120.16),
    City("321000", "扬州市", "Yangzhou", 32.39, 119.41),
    City("321100", "镇江市", "Zhenjiang", 32.19, 119.42),
    City("321200", "泰州市", "Taizhou (Jiangsu)", 32.46, 119.92),
    City("321300", "宿迁市", "Suqian", 33.96, 118.28),
    City("330100", "杭州市", "Hangzhou", 30.27, 120.16),
    City("330200", "宁波市", "Ningbo", 29.87, 121.55),
    City("330300", "温州市", "Wenzhou", 28.00, 120.67),
    City("330400", "嘉兴市", "Jiaxing", 30.75, 120.76),
    City("330500", "湖州市", "Huzhou", 30.89, 120.09),
    City("330600", "绍兴市", "Shaoxing", 30.00, 120.58),
    City("330700", "金华市", "Jinhua", 29.08, 119.65),
    City("330800", "衢州市", "Quzhou", 28.94, 118.87),
    City("330900", "舟山市", "Zhoushan", 29.99, 122.21),
    City("331000", "台州市", "Taizhou (Zhejiang)", 28.66, 121.42),
    City("331100", "丽水市", "Lishui", 28.45, 119.92),
    City("340100", "合肥市", "Hefei", 31.82, 117.23),
    City("340200", "芜湖市", "Wuhu", 31.35, 118.38),
    City("340300", "蚌埠市", "Bengbu", 32.92, 117.39),
    City("340400", "淮南市", "Huainan", 32.63, 117.00),
    City("340500", "马鞍山市", "Ma'anshan", 31.67, 118.51),
    City("340600", "淮北市", "Huaibei", 33.96, 116.80),
    City("340700", "铜陵市", "Tongling", 30.94, 117.81),
    City("340800", "安庆市", "Anqing", 30.54, 117.06),
    City("341000", "黄山市", "Huangshan", 29.71, 118.34),
    City("341100", "滁州市", "Chuzhou", 32.30, 118.32),
    City("341200", "阜阳市", "Fuyang", 32.89, 115.81),
    City("341300", "宿州市", "Suzhou (Anhui)", 33.63, 116.98),
    City("341500", "六安市", "Lu'an", 31.73, 116.52),
    City("341600", "亳州市", "Bozhou", 33.87, 115.78),
    City("341700", "池州市", "Chizhou", 30.66, 117.49),
    City("341800", "宣城市", "Xuancheng", 30.94, 118.76),
)

# Districts and counties named by blocs; their parent is the city of the same 4-digit prefix.
DISTRICTS: tuple[City, ...] = (
    City("310117", "松江区", "Songjiang District", 31.03, 121.23),
    City("310118", "青浦区", "Qingpu District", 31.15, 121.12),
    City("320509", "吴江区", "Wujiang District", 31.16, 120.64),
    City("330421", "嘉善县", "Jiashan County", 30.83, 120.92),
)

BLOCS: tuple[BlocData, ...] = (
    BlocData(
        "YRD",
        "长三角三省一市",
        "Yangtze River Delta (three provinces and one city)",
        "上海市、江苏省、浙江省、安徽省",
        ("310000", "320000", "330000", "340000"),
    ),
    BlocData(
        "G60",
        "G60科创走廊",
        "G60 Science and Innovation Corridor",
        "上海松江、嘉兴、杭州、金华、苏州、湖州、宣城、芜湖、合肥九城市",
        (
            "310117",
            "330400",
            "330100",
            "330700",
            "320500",
            "330500",
            "341800",
            "340200",
            "340100",
        ),
    ),
    BlocData(
        "DEMO_ZONE",
        "长三角生态绿色一体化发展示范区",
        "Yangtze River Delta Eco-Green Integration Demonstration Zone",
        "上海青浦、江苏吴江、浙江嘉善",
        ("310118", "320509", "330421"),
    ),
)
