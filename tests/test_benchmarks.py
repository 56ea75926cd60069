"""The benchmark suite's quick mode runs and writes its reports (no timing asserts)."""
import json

from benchmarks.__main__ import main


def test_quick_benchmark_writes_json_and_markdown(tmp_path):
    assert main(["--quick", "--device", "cpu", "--out", str(tmp_path), "--reps", "1"]) == 0
    data = json.loads((tmp_path / "layers.json").read_text())
    assert data["meta"]["quick"] is True
    assert {"train_ratio", "eval_ratio", "train_plain_ms", "train_group_ms"} <= set(data["rows"][0])
    assert "| C8 |" in (tmp_path / "layers.md").read_text()
