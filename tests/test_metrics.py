import numpy as np
import pytest

from tagbench.core.metrics import per_tag_metrics, tagging_metrics


def test_hand_computed_case():
    y = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.1, 0.2], [0.4, 0.2, 0.3], [0.3, 0.1, 0.6], [0.2, 0.0, 0.1]])
    m = tagging_metrics(y, s)
    # tag 0: positives 0.9, 0.3; negatives 0.4, 0.2 -> pairs won 3 of 4 -> 0.75
    # tag 2: positive 0.3; negatives 0.2, 0.6, 0.1 -> 2 of 3
    assert m["roc_auc_macro"] == pytest.approx((0.75 + 2 / 3) / 2)
    assert m["n_tags_scored"] == 2 and m["n_tags"] == 3 and m["n_clips"] == 4
    # tag 0 AP: ranks 0.9(+) 0.4(-) 0.3(+) -> (1 + 2/3) / 2
    assert per_tag_metrics(y, s, "abc")["pr_auc"][0] == pytest.approx((1 + 2 / 3) / 2)
    # wrong at 0.5: (2, 2) predicted 1, (2, 0) and (1, 2) missed -> 9 of 12 right
    assert m["accuracy"] == pytest.approx(9 / 12)
    assert m["all_negative_accuracy"] == pytest.approx(9 / 12)
    assert np.isnan(per_tag_metrics(y, s, "abc")["roc_auc"][1])


def test_all_zero_prediction_is_accurate_but_worthless():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 50)) < 0.03).astype(int)
    m = tagging_metrics(y, np.zeros(y.shape))
    assert m["accuracy"] > 0.95 and m["accuracy"] == m["all_negative_accuracy"]
    assert m["roc_auc_macro"] == pytest.approx(0.5)
