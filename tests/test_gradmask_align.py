"GradMaskCallback(mode='block', align=...) through a fastai user's whole session, with the alignment term active."
import dataclasses, warnings
import pytest, torch
from growlearn.workflow import SCENARIOS, run_cell, tiny_vision_learner, tiny_tabular_learner
from growlearn.gradmask import workflow_spec, GradMaskCallback, _vision_pre_dl, _tabular_pre_dl, trained_block, default_blocks

PRE = {'vision': _vision_pre_dl, 'tabular': _tabular_pre_dl}
MAKE = {'vision': tiny_vision_learner, 'tabular': tiny_tabular_learner}

def _aligned(learn):
    gm = getattr(learn, 'gradmask', None)
    return gm is not None and gm.steps > 0 and bool(gm.targets)

SPEC = dataclasses.replace(workflow_spec(), make=lambda kind: GradMaskCallback(dl_pre=PRE[kind](), mode='block', align=0.1), acted=_aligned)

def fitted(kind, **kw):
    "A tiny learner of `kind` fitted one epoch with `GradMaskCallback(dl_pre, align=0.1, **kw)`"
    learn = MAKE[kind](cbs=GradMaskCallback(dl_pre=PRE[kind](), align=0.1, **kw))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); learn.fit(1, 1e-3)
    return learn

@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_align_targets_follow_the_block(kind):
    "The aligned modules are exactly the blocks after the trained one, and the fit leaves no hook behind"
    learn = fitted(kind, mode='block')
    gm = learn.gradmask
    blocks = gm.blocks or default_blocks(gm._judged)
    b = trained_block(gm.masks, blocks)
    assert b is not None and list(gm.targets) == blocks[blocks.index(b) + 1:]
    assert sum(len(m._forward_hooks) for m in learn.model.modules()) == 0

@pytest.mark.parametrize('name', list(SCENARIOS))
@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_align_workflow(kind, name):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        claim = run_cell(SPEC, kind, name)
    assert claim == SPEC.expect(name, kind)[0]

AUTO = dataclasses.replace(SPEC, make=lambda kind: GradMaskCallback(dl_pre=PRE[kind](), mode='auto', align=0.1),
                           acted=lambda learn: getattr(learn, 'gradmask', None) is not None and learn.gradmask.steps > 0)

@pytest.mark.parametrize('name', ['fine_tune', 'lr_find_before', 'export', 'nan_row', 'to_fp16'])
@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_auto_workflow(kind, name):
    "mode='auto' (with align) through the scenarios most likely to break it; whichever mode it takes, it acts"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        claim = run_cell(AUTO, kind, name)
    assert claim == AUTO.expect(name, kind)[0]

@pytest.mark.parametrize('kind', ['vision', 'tabular'])
def test_auto_takes_one_mode(kind):
    "The mode 'auto' takes follows `concentrated_block`; alignment targets exist only when it took 'block'"
    from growlearn.gradmask import concentrated_block
    gm = fitted(kind, mode='auto').gradmask
    assert gm.acting_mode == ('block' if concentrated_block(gm.dist, gm.blocks, gm.concentration) else 'pull')
    assert bool(gm.targets) == (gm.acting_mode == 'block' and trained_block(gm.masks, gm.blocks or default_blocks(gm._judged)) != (gm.blocks or default_blocks(gm._judged))[-1])
