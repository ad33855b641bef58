"""Study plans read from pre-registration pages, and the rule that a study
runs only under its committed, unchanged pre-registration."""

import json
import subprocess

import pytest

from geoconv_mm.study.plan import PLAN_FENCE, check_can_run, read_plan
from tests.fixtures.paths import REPO_ROOT
from tests.fixtures.study_records import write_completion_page, write_plan


def _page(tmp_path, spec, extra=''):
    path = tmp_path / 'plan.md'
    path.write_text(
        f'# Plan\n\n```{PLAN_FENCE}\n{json.dumps(spec)}\n```\n{extra}'
    )
    return str(path)


SPEC = dict(
    study='s',
    preregistered=True,
    variants=['default', 'other'],
    reference='plain',
    arms=dict(
        plain=dict(label='P', config='c.py', seeds=[0, 1], folds=[1, 2]),
        geo=dict(
            label='G',
            config='g.py',
            seeds=[0, 1, 2],
            folds=dict(default=[1, 2], other=[1]),
        ),
        extra=dict(label='E', config='e.py', seeds=[0], folds=[1]),
    ),
    primary=['geo', 'plain'],
    secondary=[['extra', 'plain']],
)


def test_the_repository_pre_registrations_read():
    for page in ('preregistration.md', 'ground_truth_study.md'):
        plan = read_plan(f'{REPO_ROOT}/docs/en/study/{page}')
        assert plan.reference in plan.arms
        assert all(a in plan.arms for c in plan.comparisons for a in c)
    completion = read_plan(f'{REPO_ROOT}/docs/en/study/completion.md')
    assert completion.completes.study == 'synthau_recon'


def test_plan_fields_pairs_and_jobs(tmp_path):
    plan = read_plan(_page(tmp_path, SPEC))
    assert plan.study == 's' and plan.preregistered
    assert plan.labels == dict(plain='P', geo='G', extra='E')
    assert plan.comparisons == [('geo', 'plain'), ('extra', 'plain')]
    assert plan.planned_pairs('geo', 'plain', 'default') == [
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    ]
    assert plan.planned_pairs('geo', 'plain', 'other') == [(0, 1), (1, 1)]
    jobs = plan.jobs()
    # 3 x 2 + 3 x 1 geo runs, 2 x 2 x 2 plain, 1 x 1 x 2 extra.
    assert len(jobs) == len(set(jobs)) == 9 + 8 + 2
    # The primary comparison's runs first, seed by seed.
    primary = [j for j in jobs if j[0] in ('geo', 'plain')]
    assert jobs[: len(primary)] == primary
    assert [j[2] for j in primary] == sorted(j[2] for j in primary)
    assert jobs[0] == ('plain', 'default', 0, 1)


@pytest.mark.parametrize(
    'change, message',
    [
        (dict(primary=['geo', 'nobody']), "no arm 'nobody'"),
        (dict(reference='nobody'), "reference 'nobody' is not an arm"),
        (dict(level=1.5), 'level must lie in'),
        (dict(colour='red'), "unknown fields \\['colour'\\]"),
        (
            dict(
                arms=dict(
                    plain=dict(label='P', config='c', seeds=[], folds=[1])
                )
            ),
            "arm 'plain' has no seeds",
        ),
        (
            dict(
                arms=dict(
                    plain=dict(
                        label='P', config='c', seeds=[0], folds=dict(x=[1])
                    )
                )
            ),
            'folds for variants',
        ),
        (dict(arms=None), 'plan:'),
        (
            dict(arms=dict(plain=dict(label='P'))),
            "plan: missing field 'folds'",
        ),
    ],
)
def test_a_plan_that_does_not_hold_together_is_named(
    tmp_path, change, message
):
    with pytest.raises(ValueError, match=message) as err:
        read_plan(_page(tmp_path, dict(SPEC, **change)))
    assert 'plan.md' in str(err.value)


def test_a_page_needs_exactly_one_plan_block(tmp_path):
    with pytest.raises(FileNotFoundError, match='pre-registration not found'):
        read_plan(str(tmp_path / 'missing.md'))
    one = _page(tmp_path, SPEC)
    with open(one) as fh:
        text = fh.read()
    two = tmp_path / 'two.md'
    two.write_text(text + text)
    with pytest.raises(ValueError, match='found 2'):
        read_plan(str(two))
    bad = tmp_path / 'bad.md'
    bad.write_text(f'```{PLAN_FENCE}\n{{"study": \n```\n')
    with pytest.raises(ValueError, match='not JSON'):
        read_plan(str(bad))


def _git(cwd, *args):
    subprocess.run(
        ['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_a_study_runs_only_under_its_committed_unchanged_plan(tmp_path):
    _git(tmp_path, 'init', '-q')
    page = tmp_path / 'plan.md'
    plan = write_plan(page, ['plain', 'geo'], ('geo', 'plain'), (), [0], [1])
    with pytest.raises(ValueError, match='after the fact'):
        check_can_run(plan, [])
    plan = write_plan(
        page, ['plain', 'geo'], ('geo', 'plain'), (), [0], [1], True
    )
    with pytest.raises(ValueError, match='is not committed'):
        check_can_run(plan, [])
    _git(tmp_path, 'add', 'plan.md')
    _git(tmp_path, 'commit', '-q', '-m', 'plan')
    check_can_run(plan, [])
    record = dict(
        arm='plain', seed=0, fold=1, preregistration_sha256=plan.sha256
    )
    check_can_run(plan, [record])
    # The page edited after the first record: refused, before and after the
    # edit is committed.
    with open(page, 'a') as fh:
        fh.write('\nOne more seed, after all.\n')
    edited = read_plan(str(page))
    with pytest.raises(ValueError, match='differs from its committed'):
        check_can_run(edited, [record])
    _git(tmp_path, 'commit', '-q', '-am', 'edit')
    with pytest.raises(ValueError, match='cannot change after the first run'):
        check_can_run(edited, [record])
    check_can_run(edited, [])


def test_a_completion_runs_its_runs_under_the_plan_it_completes(tmp_path):
    _page(tmp_path, SPEC)
    plan = read_plan(
        write_completion_page(
            tmp_path,
            dict(
                geo=dict(seeds=[2], folds=[1]),
                plain=dict(seeds=[1], folds=[2]),
            ),
        )
    )
    base = read_plan(str(tmp_path / 'plan.md'))
    assert plan.completes == base
    assert plan.study == 's2' and plan.path.endswith('completion.md')
    assert plan.comparisons == base.comparisons
    assert plan.labels == base.labels
    assert plan.arms['geo'].config == 'g.py'
    # geo's seed 2 on fold 1 of both variants; plain's seed 1 on fold 2 of
    # the one variant that plans fold 2 for it.
    assert sorted(plan.jobs()) == [
        ('geo', 'default', 2, 1),
        ('geo', 'other', 2, 1),
        ('plain', 'default', 1, 2),
        ('plain', 'other', 1, 2),
    ]


@pytest.mark.parametrize(
    'runs, spec, message',
    [
        (dict(geo=dict(seeds=[3], folds=[1])), {}, r'\(3, 1\)'),
        (dict(plain=dict(seeds=[0], folds=[3])), {}, r'\(0, 3\)'),
        (dict(nobody=dict(seeds=[0], folds=[1])), {}, "no arm 'nobody'"),
        (dict(geo=dict(seeds=[], folds=[1])), {}, 'no seeds'),
        (dict(geo=dict(seeds=[0], folds=[1])), dict(study='s'), 'own'),
        (
            dict(geo=dict(seeds=[0], folds=[1])),
            dict(level=0.9),
            "unknown fields \\['level'\\]",
        ),
    ],
)
def test_a_completion_that_does_not_fit_its_plan_is_named(
    tmp_path, runs, spec, message
):
    _page(tmp_path, SPEC)
    with pytest.raises(ValueError, match=message) as err:
        read_plan(write_completion_page(tmp_path, runs, **spec))
    assert 'completion.md' in str(err.value)


def test_only_a_pre_registered_study_is_completed_once(tmp_path):
    _page(tmp_path, dict(SPEC, preregistered=False))
    runs = dict(geo=dict(seeds=[0], folds=[1]))
    with pytest.raises(ValueError, match='was not pre-registered'):
        read_plan(write_completion_page(tmp_path, runs))
    _page(tmp_path, SPEC)
    first = write_completion_page(tmp_path, runs)
    (tmp_path / 'again.md').write_text(
        open(first).read().replace('plan.md', 'completion.md')
    )
    with pytest.raises(ValueError, match='is itself a completion'):
        read_plan(str(tmp_path / 'again.md'))
    with pytest.raises(FileNotFoundError, match='nowhere.md'):
        read_plan(
            write_completion_page(tmp_path, runs, completes='nowhere.md')
        )


def test_a_completion_runs_only_while_both_pages_stand(tmp_path):
    _git(tmp_path, 'init', '-q')
    base = _page(tmp_path, SPEC)
    plan = read_plan(
        write_completion_page(tmp_path, dict(geo=dict(seeds=[0], folds=[1])))
    )
    _git(tmp_path, 'add', 'plan.md', 'completion.md')
    _git(tmp_path, 'commit', '-q', '-m', 'plans')
    check_can_run(plan, [])
    with open(base, 'a') as fh:
        fh.write('\nAnother arm, after all.\n')
    with pytest.raises(ValueError, match='plan.md differs from its committed'):
        check_can_run(plan, [])
