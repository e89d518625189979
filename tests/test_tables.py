"""Tables of notebook 04: built from the models, equal to the paper's Table 1 and torchvision's figures."""

import pytest
import torch
from torch import nn

from resnet_lib import conv_output_size, pool_output_size, resnet
from resnet_lib.inspection import saved_tensor_bytes
from resnet_lib.tools.tables import (
    Table,
    activation_bytes,
    architecture,
    comparison_table,
    model_stats,
    table1,
)


@pytest.fixture(scope="module")
def resnet18_model():
    torch.manual_seed(0)
    return resnet(18)


@pytest.fixture(scope="module")
def arch50():
    return architecture(50)


def test_architecture_reads_the_paper_layout(arch50):
    assert arch50.block == "Bottleneck"
    assert arch50.stem == (7, 64, 2, 112)
    assert arch50.pool == (3, 2, 56)
    assert [s.name for s in arch50.stages] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]
    assert [s.blocks for s in arch50.stages] == [3, 4, 6, 3]
    assert [s.output_size for s in arch50.stages] == [56, 28, 14, 7]
    assert arch50.stages[1].convs == ((1, 128), (3, 128), (1, 512))
    assert all(s.projection for s in arch50.stages)  # stage 1 too: 64 -> 256 channels
    assert arch50.classifier_in == 2048
    assert round(arch50.macs / 1e9, 3) == 4.089


def test_output_sizes_agree_with_the_arithmetic():
    arch = architecture(34, image_size=200)
    size = conv_output_size(200, 7, stride=2, padding=3)
    assert arch.stem[3] == size
    size = pool_output_size(size, 3, stride=2, padding=1)
    assert arch.pool[2] == size
    for stage, stride in zip(arch.stages, (1, 2, 2, 2)):
        size = conv_output_size(size, 3, stride=stride, padding=1)
        assert stage.output_size == size
    assert [s.projection for s in arch.stages] == [False, True, True, True]
    assert arch.stages[0].convs == ((3, 64), (3, 64)) and arch.classifier_in == 512


def test_architecture_of_a_given_model_and_its_errors(resnet18_model):
    assert architecture(18, model=resnet18_model).stages[3].blocks == 2
    with pytest.raises(ValueError, match="is a ResNet-18, not a ResNet-34"):
        architecture(34, model=resnet18_model)
    with pytest.raises(TypeError, match="cannot change the model given"):
        architecture(18, model=resnet18_model, stride_in_1x1=True)
    with pytest.raises(ValueError, match="depth must be one of"):
        architecture(20)


def test_v1_layout_gives_the_papers_multiply_adds():
    assert round(architecture(50, stride_in_1x1=True).macs / 1e9, 3) == 3.858


def test_table1_has_the_papers_rows(resnet18_model, arch50):
    table = table1([architecture(18, model=resnet18_model), arch50])
    text = table.to_text()
    assert table.columns == ("layer name", "output size", "18-layer", "50-layer")
    assert [row[0] for row in table.rows] == [
        "conv1",
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
        "",
        "multiply-adds",
    ]
    assert table.rows[2][1:] == (
        "28×28",
        ("[3×3, 128]", "[3×3, 128]", "× 2"),
        ("[1×1, 128]", "[3×3, 128]", "[1×1, 512]", "× 4"),
    )
    assert table.rows[1][3][0] == "3×3 max pool, stride 2"
    assert table.rows[-1][2:] == ("1.814×10⁹", "4.089×10⁹")
    assert "average pool, 2048-d → 1000-d fc" in text
    assert table1([arch50]).to_text() == table1([architecture(50)]).to_text()  # deterministic
    with pytest.raises(ValueError, match="differ in image size"):
        table1([arch50, architecture(18, image_size=160)])


def test_model_stats_match_torchvision_and_leave_the_model_unchanged(resnet18_model):
    model = resnet18_model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = model_stats(model, batch_size=2)
    assert (stats.depth, stats.parameters, round(stats.macs / 1e9, 3)) == (18, 11_689_512, 1.814)
    assert stats.flops == 2 * stats.macs and stats.weight_bytes == 4 * 11_689_512
    assert stats.receptive_field == 435
    assert not model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm statistics restored
    # Activation memory grows with the batch: twice the images, about twice the bytes.
    one = model_stats(model, batch_size=1).activation_bytes
    assert 1.99 < stats.activation_bytes / one < 2  # BatchNorm's per-channel statistics do not grow


def test_activation_bytes_are_saved_tensor_bytes_without_the_weights(resnet18_model):
    model = resnet18_model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.zeros(1, 3, 64, 64)
    saved, activations = saved_tensor_bytes(model, x), activation_bytes(model, x)
    model.load_state_dict(state)
    saved_weights = saved - activations
    # Every conv and BatchNorm weight, and the fc weight, is kept for backward; the biases are not.
    weights = sum(
        m.weight.nbytes for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
    )
    assert saved_weights == weights


def test_comparison_table_rows(resnet18_model):
    stats = model_stats(resnet18_model)
    table = comparison_table([stats])
    assert table.rows == (
        (
            "ResNet-18",
            "11,689,512",
            "1.814 G",
            "3.628 G",
            "46.8",
            f"{stats.activation_bytes / 1e6:.1f}",
            "435",
        ),
    )
    assert "activations (MB, batch 1, training)" in table.columns
    with pytest.raises(ValueError, match="need at least one"):
        comparison_table([])


def test_table_renders_aligned_text_and_escaped_html():
    table = Table(columns=("name", "n"), rows=(("a<b", "1"), (("two", "lines"), "22")), caption="T")
    assert table.to_text() == "T\nname    n\n-----  --\na<b     1\ntwo    22\nlines"
    assert repr(table) == str(table) == table.to_text()
    html = table._repr_html_()
    assert "a&lt;b" in html and "two<br>lines" in html and "<caption>T</caption>" in html
    assert html.count("<tr>") == 3
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        Table(columns=("a", "b"), rows=(("x",),))
    with pytest.raises(ValueError, match="align must give"):
        Table(columns=("a",), rows=(), align="c")


def test_fixed_widths_let_rows_printed_alone_line_up_under_the_header():
    table = Table(columns=("a", "n"), rows=(("x", "1"), ("yy", "22")), align="lr", widths=(4, 5))
    assert table.to_text() == "a       n\nx       1\nyy     22"  # no gap added, no rule
    assert table.to_text(header=False) == "x       1\nyy     22"
    alone = Table(columns=table.columns, rows=(("z", ""),), align="lr", widths=(4, 5))
    assert alone.to_text(header=False) == "z        "  # full width: the next column would start here
    # Without fixed widths, header=False gives the rows as they stand under the header.
    assert Table(columns=("name", "n"), rows=(("a", "1"),)).to_text(header=False) == "a     1"


def test_every_name_of_the_tables_module_is_still_there():
    import resnet_lib.tools.tables as tables

    names = "Architecture ModelStats Stage Table activation_bytes architecture comparison_table model_stats table1"
    assert sorted(tables.__all__) == names.split() and all(hasattr(tables, n) for n in names.split())
