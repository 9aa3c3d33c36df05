"GradMaskCallback through a fastai user's whole session: every scenario of `growlearn.workflow` on a vision and a tabular learner."
import warnings
import pytest, torch
from growlearn.workflow import SCENARIOS, run_cell
from growlearn.gradmask import workflow_spec

SPEC = workflow_spec()

@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "Tiny models on a shared machine: one thread is several times faster than two fighting for the cores"
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.mark.parametrize('name', list(SCENARIOS))
@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_gradmask_workflow(kind, name):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')        # fastai's own warnings (tabular batches from read-only arrays, pickle reminders)
        claim = run_cell(SPEC, kind, name)
    assert claim == SPEC.expect(name, kind)[0]
