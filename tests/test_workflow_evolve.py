"""EvolveCallback through a fastai user's whole session: {vision, tabular} learners × every scenario of `growlearn.workflow`.

The learners get an `EvolvingLayer` in place of their last `Linear` through the spec's `prepare` hook (`evolve_prepare`);
the claims checked are those of `evolve_spec()`, the same spec that renders the "Works with" table on the evolve page.
"""
import warnings
import pytest, torch
import growlearn
from growlearn.workflow import SCENARIOS, LEARNERS, run_cell
from growlearn.evolve import EvolvingLayer, evolve_spec

SPEC = evolve_spec()


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    "One intra-op thread: on a shared 2-core machine two threads contending with other jobs run many times slower"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize('kind', list(LEARNERS))
def test_prepared_learner_has_evolving_layer(kind):
    learn = SPEC.prepare(LEARNERS[kind](), kind)
    layers = [m for m in learn.model.modules() if isinstance(m, EvolvingLayer)]
    assert len(layers) == 1 and layers[0].max_ops == 16


@pytest.mark.parametrize('name', list(SCENARIOS))
@pytest.mark.parametrize('kind', list(LEARNERS))
def test_evolve_workflow(kind, name):
    claim, _ = SPEC.expect(name, kind)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # fastai's warnings of the scenarios themselves (fp16 on CPU, optimizer-less checkpoints)
        assert run_cell(SPEC, kind, name) == claim
