import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.train import History  # noqa: E402
from course_lib.viz import heatmap, plot_embeddings_2d, plot_history, project_2d  # noqa: E402


def test_project_2d_is_pca():
    x = torch.tensor([[1.0, 0, 0], [-1.0, 0, 0], [0, 0.1, 0], [0, -0.1, 0]])
    xy = project_2d(x)
    assert xy.shape == (4, 2)
    assert np.allclose(np.abs(xy[:, 0]), [1, 1, 0, 0], atol=1e-6)  # first axis: largest variance
    with pytest.raises(ValueError, match=r"shape \(n >= 2, dim\)"):
        project_2d(torch.zeros(1, 3))


def test_plots_draw_what_they_are_given(tmp_path):
    h = History(step=[10, 20], train_loss=[1.0, 0.5], val_step=[20], val_loss=[0.7])
    ax = plot_history(h)
    assert [list(line.get_ydata()) for line in ax.lines] == [[1.0, 0.5], [0.7]]
    ax = plot_embeddings_2d(torch.randn(5, 8), list("abcde"), groups=[0, 0, 1, 1, 1])
    assert len(ax.texts) == 5
    ax = heatmap(np.eye(3), ["a", "b", "c"], ["x", "y", "z"])
    assert len(ax.texts) == 9
    ax.figure.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="labels"):
        plot_embeddings_2d(torch.randn(3, 2), ["a"])
    with pytest.raises(ValueError, match="2-D"):
        heatmap(np.zeros(3))
