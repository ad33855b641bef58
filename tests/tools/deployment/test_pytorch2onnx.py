"""tools/deployment/pytorch2onnx.py on the command line: it exports, checks
the file against PyTorch with --verify, and says a missing checkpoint in one
line."""

import pytest

from geoconv_mm.ops.onnx_runtime import ONNXAUModel
from tests.fixtures.demo_models import DEMO, save_demo_model
from tests.fixtures.tools import load_tool

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

TOOL = 'tools/deployment/pytorch2onnx.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_export_with_verify(tool, tmp_path, capsys):
    config, checkpoint = save_demo_model(DEMO, tmp_path)
    out = tmp_path / 'model.onnx'
    assert tool.main([config, checkpoint, '--out', str(out), '--verify']) == 0
    printed = capsys.readouterr().out
    assert f'wrote {out}: inputs crop + ' in printed
    assert 'geodesic weights, 15 AUs (AU01, AU02, AU04' in printed
    assert 'onnxruntime vs PyTorch: max abs output difference' in printed
    assert '(ok 0.0001)' in printed
    assert ONNXAUModel(str(out)).meta.au_names[0] == 'AU01'


def test_a_missing_checkpoint_is_one_line(tool, tmp_path):
    argv = [DEMO, str(tmp_path / 'nothing.pth'), '--out', 'x.onnx']
    with pytest.raises(
        SystemExit, match='error: checkpoint not found: .*nothing.pth'
    ):
        tool.main(argv)
