"""EvolveCallback through a fastai user's whole session: {vision, tabular} learners × every scenario of `growlearn.workflow`.

The learners get an `EvolvingLayer` in place of their last `Linear` (`evolve_prepare`). `CallbackSpec` has no hook for
that yet, so the learner factories are wrapped here (`monkeypatch`); the claims checked are those of `evolve_spec()`,
the same spec that renders the "Works with" table on the evolve page.
"""
import warnings
import pytest, torch
import growlearn
from growlearn import workflow
from growlearn.workflow import SCENARIOS, run_cell
from growlearn.evolve import EvolvingLayer, evolve_prepare, evolve_spec

SPEC = evolve_spec()


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    "One intra-op thread: on a shared 2-core machine two threads contending with other jobs run many times slower"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def evolving_learners(monkeypatch):
    "Every learner the scenarios build has an EvolvingLayer in place of its last Linear"
    for kind, make in list(workflow.LEARNERS.items()):
        def _make(cbs=None, nan_row=False, _make=make, _kind=kind, **kw):
            return evolve_prepare(_make(cbs=cbs, nan_row=nan_row, **kw), _kind)
        monkeypatch.setitem(workflow.LEARNERS, kind, _make)


@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_learner_has_evolving_layer(kind):
    learn = workflow.LEARNERS[kind]()
    layers = [m for m in learn.model.modules() if isinstance(m, EvolvingLayer)]
    assert len(layers) == 1 and layers[0].max_ops == 16


@pytest.mark.parametrize('name', list(SCENARIOS))
@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_evolve_workflow(kind, name):
    claim, _ = SPEC.expect(name, kind)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # fastai's warnings of the scenarios themselves (fp16 on CPU, optimizer-less checkpoints)
        assert run_cell(SPEC, kind, name) == claim
