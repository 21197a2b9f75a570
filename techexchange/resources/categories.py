"""Reference data: the 15 top-level instrument categories and their second levels.

Codes are 6 digits (top 2 + second 2 + "00"), as the national record's category code. The
second levels follow the national classification of large instruments as far as it could be
checked; they are data loaded by a migration, so a revision is a new migration, not new code.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "category_rows"]

# (top code, top name zh, top name en, ((second name zh, second name en), ...))
CATEGORIES: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("01", "分析仪器", "Analytical instruments", (
        ("电子光学仪器", "Electron optics"), ("质谱仪器", "Mass spectrometry"),
        ("X射线仪器", "X-ray instruments"), ("光谱仪器", "Spectroscopy"),
        ("色谱仪器", "Chromatography"), ("波谱仪器", "Magnetic resonance"),
        ("电化学仪器", "Electrochemistry"),
        ("显微镜及图象分析仪器", "Microscopy and image analysis"),
        ("热分析仪器", "Thermal analysis"), ("生化分离分析仪器", "Biochemical separation"),
        ("环境与农业分析仪器", "Environmental and agricultural analysis"),
        ("样品前处理及制备仪器", "Sample preparation"), ("其他", "Other"),
    )),
    ("02", "物理性能测试仪器", "Physical property testing", (
        ("力学性能测试仪器", "Mechanical testing"), ("大地测量仪器", "Geodetic surveying"),
        ("光电测量仪器", "Optoelectronic measurement"), ("声学振动仪器", "Acoustics and vibration"),
        ("颗粒度测量仪器", "Particle size"), ("探伤仪器", "Flaw detection"), ("其他", "Other"),
    )),
    ("03", "计量仪器", "Metrology instruments", (
        ("长度计量仪器", "Length"), ("热学计量仪器", "Thermal"), ("力学计量仪器", "Mechanical"),
        ("电磁学计量仪器", "Electromagnetic"), ("时间频率计量仪器", "Time and frequency"),
        ("声学计量仪器", "Acoustic"), ("光学计量仪器", "Optical"),
        ("天平及质量计量仪器", "Balances and mass"), ("其他", "Other"),
    )),
    ("04", "电子测量仪器", "Electronic measurement", (
        ("通用电子测量仪器", "General electronic"), ("射频和微波测试仪器", "RF and microwave"),
        ("通讯测量仪器", "Communications"), ("网络分析仪器", "Network analysis"),
        ("大规模集成电路测试仪器", "VLSI test"), ("其他", "Other"),
    )),
    ("05", "海洋仪器", "Marine instruments", (
        ("海洋水文测量仪器", "Hydrology"), ("海洋生物调查仪器", "Marine biology"),
        ("海洋地质地球物理调查仪器", "Marine geology and geophysics"),
        ("海洋化学调查仪器", "Marine chemistry"), ("其他", "Other"),
    )),
    ("06", "地球探测仪器", "Earth exploration", (
        ("电法仪器", "Electrical methods"), ("电磁法仪器", "Electromagnetic methods"),
        ("重力仪器", "Gravimetry"), ("磁法仪器", "Magnetic methods"), ("地震仪器", "Seismic"),
        ("地球物理测井仪器", "Well logging"), ("岩石矿物测试仪器", "Rock and mineral testing"),
        ("其他", "Other"),
    )),
    ("07", "大气探测仪器", "Atmospheric sounding", (
        ("气象台站观测仪器", "Weather stations"), ("高空气象探测仪器", "Upper-air sounding"),
        ("特种大气探测仪器", "Special atmospheric"),
        ("大气成分采样分析仪器", "Atmospheric composition"),
        ("其他", "Other"),
    )),
    ("08", "天文仪器", "Astronomical instruments", (
        ("光学望远镜", "Optical telescopes"), ("射电天文望远镜", "Radio telescopes"),
        ("空间天文望远镜", "Space telescopes"), ("其他", "Other"),
    )),
    ("09", "医学诊断仪器", "Medical diagnostics", (
        ("临床检验分析仪器", "Clinical laboratory"), ("影像诊断仪器", "Imaging"),
        ("电子诊察仪器", "Electronic diagnostics"), ("其他", "Other"),
    )),
    ("10", "核仪器", "Nuclear instruments", (
        ("核辐射探测仪器", "Radiation detection"), ("活化分析仪器", "Activation analysis"),
        ("离子束分析仪器", "Ion beam analysis"), ("核效应分析仪器", "Nuclear effect analysis"),
        ("中子散射及衍射仪器", "Neutron scattering and diffraction"), ("其他", "Other"),
    )),
    ("11", "特种检测仪器", "Special inspection", (
        ("射线检测仪器", "Radiographic"), ("超声检测仪器", "Ultrasonic"),
        ("电磁检测仪器", "Electromagnetic"), ("声发射检测仪器", "Acoustic emission"),
        ("光电检测仪器", "Optoelectronic"), ("其他", "Other"),
    )),
    ("12", "工艺实验设备", "Process and laboratory equipment", (
        ("加工设备", "Processing"), ("实验室常规设备", "General laboratory"),
        ("热处理设备", "Heat treatment"), ("环境试验设备", "Environmental testing"),
        ("中试设备", "Pilot equipment"), ("其他", "Other"),
    )),
    ("13", "计算机及其配套设备", "Computers and peripherals", (
        ("计算机", "Computers"), ("高性能计算设备", "High-performance computing"),
        ("其他", "Other"),
    )),
    ("14", "激光器", "Lasers", (
        ("固体激光器", "Solid-state"), ("气体激光器", "Gas"), ("半导体激光器", "Semiconductor"),
        ("其他", "Other"),
    )),
    ("15", "其他仪器", "Other instruments", (("其他", "Other"),)),
)  # fmt: skip


def category_rows() -> list[tuple[str, str, str, str | None]]:
    """Every category as (code, name_zh, name_en, parent code), parents first."""
    rows: list[tuple[str, str, str, str | None]] = []
    for top, zh, en, seconds in CATEGORIES:
        top_code = f"{top}0000"
        rows.append((top_code, zh, en, None))
        for i, (szh, sen) in enumerate(seconds, start=1):
            code = f"{top}{99 if szh == '其他' else i:02d}00"
            rows.append((code, szh, sen, top_code))
    return rows
