"""The results table as read back from disk."""

import pandas as pd
import pytest

from nml_tutorial.results import read_table


def test_a_table_from_before_the_protocols_names_the_fix(tmp_path):
    pd.DataFrame({"method": ["linear_probe"], "accuracy": [0.5]}).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(ValueError, match="no 'protocol' column.*run the sweep again"):
        read_table(tmp_path / "results.csv")
    pd.DataFrame({"protocol": ["tuned"], "accuracy": [0.5]}).to_csv(tmp_path / "ok.csv", index=False)
    assert list(read_table(tmp_path / "ok.csv")["protocol"]) == ["tuned"]
