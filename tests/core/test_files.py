import etl.core.files
from etl.core.files import write_atomic


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, "één")
    write_atomic(target, b"twee")
    assert target.read_bytes() == b"twee"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_failed_rename_leaves_no_temp_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "wij" / "x.xlsx"
    write_atomic(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(etl.core.files.os, "replace", broken_replace)
    try:
        write_atomic(target, b"PK-not-really")
    except OSError:
        pass
    else:
        raise AssertionError("expected OSError")
    assert [p.name for p in target.parent.iterdir()] == ["x.xlsx"]
    assert target.read_bytes() == b"old"
