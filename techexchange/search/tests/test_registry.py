import pytest

from techexchange.search.registry import DocType, KeywordField, Registry, TextField


def test_field_names_must_be_unique():
    with pytest.raises(ValueError, match="duplicate"):
        DocType("x", (TextField("name"),), keyword_fields=(KeywordField("name"),))


def test_reserved_and_private_names_are_refused():
    with pytest.raises(ValueError, match="invalid"):
        DocType("x", (TextField("id"),))
    with pytest.raises(ValueError, match="invalid"):
        DocType("x", (TextField("_w"),))


def test_text_weight_is_a_small_integer():
    with pytest.raises(ValueError, match="weight"):
        TextField("title", weight=0)


def test_registering_a_different_type_under_a_known_name_fails():
    reg = Registry()
    reg.register(DocType("offer", (TextField("title"),)))
    reg.register(DocType("offer", (TextField("title"),)))
    with pytest.raises(ValueError, match="already"):
        reg.register(DocType("offer", (TextField("title", weight=2),)))
    assert "offer" in reg
    assert [t.name for t in reg] == ["offer"]
