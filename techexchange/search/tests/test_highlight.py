from techexchange.search.highlight import highlight, match_spans


def test_overlapping_matches_are_merged():
    assert match_spans("数值模拟方法", ["数值", "值模", "模拟"]) == [(0, 4)]


def test_matches_are_marked_and_the_rest_escaped():
    out = highlight("a <b> 数值模拟", ["模拟"])
    assert out == "a &lt;b&gt; 数值<mark>模拟</mark>"


def test_long_text_is_cut_around_the_densest_matches():
    text = "无关内容" * 50 + "光谱仪检测" + "无关内容" * 50
    out = highlight(text, ["光谱仪"], width=40)
    assert "<mark>光谱仪</mark>" in out
    assert out.startswith("…")
    assert out.endswith("…")


def test_matching_ignores_case():
    assert highlight("Raman spectrometer", ["raman"]) == "<mark>Raman</mark> spectrometer"
