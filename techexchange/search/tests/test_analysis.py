from techexchange.search.analysis import STOPWORDS, analyze, analyze_all, cjk_bigrams


def test_chinese_text_is_segmented_into_words_without_stopwords():
    words = analyze("我们的数值模拟方法")
    assert "的" not in words
    assert "我们" not in words
    assert "模拟" in words or "数值模拟" in words


def test_english_words_are_lower_cased_and_punctuation_dropped():
    words = analyze("Lyapunov (SOS) control, the MRP!")
    assert words == ["lyapunov", "sos", "control", "mrp"]


def test_search_mode_also_emits_the_words_inside_a_long_word():
    words = analyze("中华人民共和国", mode="search")
    assert "中华人民共和国" in words
    assert "人民" in words


def test_bigrams_cover_every_cjk_run_and_keep_lone_characters():
    assert cjk_bigrams("数值模拟,A 光") == ["数值", "值模", "模拟", "光"]


def test_analyze_all_puts_latin_words_in_both_streams():
    analysed = analyze_all("3D打印 COVID-19")
    assert "3d" in analysed.words
    assert "3d" in analysed.grams
    assert "covid-19" in analysed.grams
    assert "打印" in analysed.grams


def test_empty_text_gives_no_tokens():
    assert analyze("") == []
    assert analyze_all("   ").words == []


def test_stopwords_hold_both_languages():
    assert {"的", "the"} <= STOPWORDS
