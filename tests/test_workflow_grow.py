"""GrowCallback through a fastai user's whole session (growlearn.workflow): every scenario on a vision and a tabular
learner, as claimed by `growlearn.grow.workflow_spec()` (the same spec renders the "Works with" table on the growth page);
and, end to end on a `vision_learner` whose splitter cuts by position, parameter groups and freeze state kept by growth."""
import warnings
import pytest, torch
from growlearn.workflow import SCENARIOS, LEARNERS, run_cell, tiny_vision_learner
from growlearn.grow import workflow_spec, GrowCallback, GrowthStep

SPEC = workflow_spec()

@pytest.fixture(autouse=True, scope='module')
def one_thread():   # tiny learners: one thread is faster on a shared 2-core machine
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(autouse=True)
def quiet_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # fastai's and the check's own (a NaN row left out) warnings
        yield

@pytest.mark.parametrize('kind', list(LEARNERS))
@pytest.mark.parametrize('scenario', list(SCENARIOS))
def test_cell(kind, scenario):
    assert run_cell(SPEC, kind, scenario) in ('works', 'refuses', 'n/a')

def _groups(learn): return [[id(p) for p in pg] for pg in learn.opt.param_lists]

@pytest.mark.parametrize('after,frozen', [('0.4.1', True), ('0.6.0', False)])
def test_groups_and_freeze_state_survive_growth_in_a_position_split_body(after, frozen):
    "fastai's resnet splitter cuts the body by position: growth must not move old parameters between groups"
    learn = tiny_vision_learner(cbs=GrowCallback([GrowthStep('deepen', at=1, after=after, how='residual')]))
    learn.create_opt(); learn.freeze_to(1)
    before = _groups(learn)
    learn.fit(2, 1e-3)
    after_ids = _groups(learn)
    old = {i for g in before for i in g}
    assert [[i for i in g if i in old] for g in after_ids] == before     # every old parameter in its own group, same order
    new, st = [p for p in learn.model.parameters() if id(p) not in old], learn.opt.state
    assert new and all(p.requires_grad == (not frozen or st[p].get('force_train', False)) for p in new)   # frozen with its group
    assert any(not p.requires_grad for p in new) == frozen
    for gi, pg in enumerate(learn.opt.param_lists):
        for p in pg:   # group 0 frozen except BatchNorm (fastai's train_bn), later groups all train
            assert p.requires_grad == (gi >= 1 or st[p].get('force_train', False)), (gi, p.shape)

def test_train_new_trains_a_layer_grown_into_a_frozen_group():
    learn = tiny_vision_learner(cbs=GrowCallback([GrowthStep('deepen', at=1, after='0.4.1', how='residual')], train_new=True))
    learn.create_opt(); learn.freeze()
    learn.fit(2, 1e-3)
    new = [p for n, p in learn.model.named_parameters() if n.startswith('0.4.1_1')]
    assert new and all(p.requires_grad for p in new)
    learn.freeze()                       # fastai's freeze keeps them trainable: `force_train`
    assert all(p.requires_grad for p in new)
