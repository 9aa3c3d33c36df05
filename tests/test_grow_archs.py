"""Growth on twelve architectures, as a new user would try it (nbs/10_grow.ipynb; the cases are
`growlearn.experiments.grow_bench.ARCHS`, shared with `growlearn bench grow`): deepen at two or more places and widen where
the topology allows, normalisation layers with trained-looking statistics; the outputs stay within 64 ulps (relative) in
eval and in train mode (dropout with the same RNG state); the JSON log replayed on a fresh model loads the grown weights
exactly; what can't be grown is refused with a message that says why, and nothing changes."""
import pytest, torch
from growlearn.core import dtype_rtol
from growlearn.experiments.grow_bench import ARCHS, REFUSED, arch_exactness, arch_refusal

RTOL = dtype_rtol(torch.float32)

@pytest.fixture(autouse=True, scope='module')
def one_thread():   # small models: one thread is faster on a shared 2-core machine
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.mark.exact
@pytest.mark.parametrize('name', list(ARCHS))
def test_growth_keeps_the_function_and_replays(name):
    rows, replayed = arch_exactness(name)
    assert len([r for r in rows if r['op'].startswith('deepen')]) >= 2
    for r in rows:
        assert r['checked'] and r['eval_rel'] <= RTOL and r['train_rel'] <= RTOL, r
    assert replayed, f"{name}: the replayed model with the grown state dict computes other outputs"

@pytest.mark.parametrize('name', list(REFUSED))
def test_refusals_say_why_and_change_nothing(name):
    msg, changed = arch_refusal(name)
    assert REFUSED[name][1] in msg, (name, msg)
    assert changed == [], (name, changed)

def test_channels_last_gets_a_linear_on_the_channels():
    from growlearn.experiments.grow_bench import arch_model
    from growlearn.grow import deepen, get_module
    m, xb = arch_model('convnext_tiny'), ARCHS['convnext_tiny'][1]()
    e = deepen(m, 'features.1.0.block.3', xb=xb).entry
    assert (e['layer'], e['width']) == ('linear', 384)
    assert isinstance(get_module(m, e['name']), torch.nn.Linear)
