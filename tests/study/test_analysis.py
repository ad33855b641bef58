"""The study analysis on synthetic run records whose answers are known by hand.

Each AU of a synthetic run has 100 positives among 300 test frames per subject
and as many false positives as false negatives, so its F1 is exactly its true
positive count (2tp / (2tp + 2(100 - tp))), and predicting every frame present
scores 200 * (1/3) / (4/3) = 50.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from geoconv_mm.study.analysis import (
    FALSIFIED,
    INCONCLUSIVE,
    SUPPORTED,
    TOO_FEW_PAIRS,
    analyse,
    compare,
    verdict,
)
from geoconv_mm.study.plan import read_plan
from geoconv_mm.study.records import (
    check_one_machine,
    learned_aus,
    load_records,
)
from geoconv_mm.study.report import markdown, replace_marked, table_marks
from tests.fixtures.study_records import (
    AUS,
    POSITIVES,
    balanced,
    write_completion_page,
    write_plan,
    write_run,
)


@pytest.fixture(scope='module')
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp('study')
    # plain: F1 (47, 70) and (61, 58); geo: +3 on every AU of every run;
    # noisy: +6 on seed 0 and -4 on seed 1.
    runs = {
        'plain': [balanced(47, 70), balanced(61, 58)],
        'geo': [balanced(50, 73), balanced(64, 61)],
        'noisy': [balanced(53, 76), balanced(57, 54)],
    }
    for arm, per_seed in runs.items():
        for seed, counts in enumerate(per_seed):
            write_run(str(root), arm, seed, counts)
    plan = write_plan(
        root / 'plan.md',
        ['plain', 'geo', 'noisy'],
        ('geo', 'plain'),
        [('noisy', 'plain')],
    )
    records, failed = load_records(str(root))
    return records, failed, analyse(records, plan), plan


def test_constant_shift_gives_an_interval_at_it(study):
    _, failed, summary, _ = study
    assert failed == []
    v = summary['variants']['default']
    np.testing.assert_allclose(list(v['all_present'].values()), [50, 50])
    assert v['arms']['plain']['mean'] == pytest.approx(59.0)
    assert v['arms']['plain']['sd'] == pytest.approx(np.sqrt(0.5))
    assert v['arms']['geo']['mean'] == pytest.approx(62.0)
    c = v['comparisons']['geo - plain']
    assert c['n_pairs'] == c['planned_pairs'] == 2
    # +3 for every seed and subject: no spread at all.
    assert c['diff'] == pytest.approx(3.0)
    np.testing.assert_allclose(c['interval'], [3.0, 3.0])
    for d in c['per_au'].values():
        assert d['diff'] == pytest.approx(3.0)
    assert c['verdict'] == SUPPORTED


def test_seed_noise_alone_gives_the_paired_t_interval(study):
    c = study[2]['variants']['default']['comparisons']['noisy - plain']
    # Differences +6 and -4 on every subject: no subject variance, so the
    # interval is the paired t interval over the two seeds: 1 +- t(1) * 5.
    assert c['diff'] == pytest.approx(1.0)
    half = stats.t.ppf(0.975, 1) * 5.0
    np.testing.assert_allclose(c['interval'], [1 - half, 1 + half])
    assert c['df'] == pytest.approx(1.0)
    assert c['verdict'] == INCONCLUSIVE


def test_learned_aus_by_hand(study):
    records, _, summary, plan = study
    by = {(r['arm'], r['seed']): r for r in records}
    # baseline 50: plain learns AU2 (70) on seed 0 and AU1 (61) on seed 1;
    # geo learns AU2 (73) on seed 0 and both (64, 61) on seed 1.
    assert learned_aus(by[('plain', 0)], 10) == ['AU2']
    assert learned_aus(by[('plain', 1)], 10) == ['AU1']
    assert learned_aus(by[('geo', 1)], 10) == ['AU1', 'AU2']
    assert learned_aus(by[('geo', 1)], 12) == ['AU1']
    assert learned_aus(by[('geo', 1)], 15) == []
    arms = summary['variants']['default']['arms']
    assert arms['plain']['num_learned'] == [1, 1]
    assert arms['geo']['num_learned'] == [1, 2]
    assert arms['geo']['num_learned_mean'] == pytest.approx(1.5)
    assert arms['geo']['num_learned_min'] == 1
    assert arms['geo']['learnable_runs'] == 0
    assert summary['rule']['learnable_min_aus'] == plan.learnable_min_aus


def test_identical_arms_are_falsified(tmp_path):
    rng = np.random.default_rng(0)
    for seed in range(3):
        tp = rng.integers(10, 90, (6, len(AUS)))
        fp = rng.integers(0, 150, (6, len(AUS)))
        counts = np.stack([tp, fp, POSITIVES - tp], -1)
        write_run(str(tmp_path), 'plain', seed, counts, 6)
        write_run(str(tmp_path), 'same', seed, counts, 6)
    plan = write_plan(
        tmp_path / 'plan.md', ['plain', 'same'], ('same', 'plain'), (), [0, 1]
    )
    records, _ = load_records(str(tmp_path))
    c = analyse(records, plan)['variants']['default']['comparisons'][
        'same - plain'
    ]
    # An interval pinned at 0 rules out the smallest useful gain; three
    # pairs where the plan asks for two.
    assert c['diff'] == 0 and c['interval'] == [0.0, 0.0]
    assert c['verdict'] == FALSIFIED
    # 3 pairs: no sign-flip p below 0.25, so Holm over 2 AUs cannot pass.
    assert not c['per_au_test']['holm_can_pass']
    assert c['per_au_test']['smallest_p'] == 0.25


def test_verdict_rule():
    g = 1.0
    assert verdict([0.1 * g, 0.5 * g], g) == SUPPORTED
    assert verdict([-g, 0.99 * g], g) == FALSIFIED
    assert verdict([-g, g], g) == INCONCLUSIVE
    assert verdict([0.0, 3 * g], g) == INCONCLUSIVE
    assert verdict([2.0, 5.0], g, complete=False) == TOO_FEW_PAIRS
    assert verdict([np.nan, np.nan], g) == TOO_FEW_PAIRS
    with pytest.raises(ValueError, match='lower end above upper'):
        verdict([1.0, 0.0], g)


def test_no_verdict_before_the_planned_pairs(tmp_path):
    for seed in range(2):
        write_run(str(tmp_path), 'plain', seed, balanced(50, 60))
        write_run(str(tmp_path), 'geo', seed, balanced(54, 64))
    plan = write_plan(
        tmp_path / 'plan.md', ['plain', 'geo'], ('geo', 'plain'), (), [0, 1, 2]
    )
    records, _ = load_records(str(tmp_path))
    c = analyse(records, plan)['variants']['default']['comparisons'][
        'geo - plain'
    ]
    assert (c['n_pairs'], c['planned_pairs']) == (2, 3)
    assert c['verdict'] == TOO_FEW_PAIRS
    table = markdown(analyse(records, plan), plan, [], 2)
    assert '| 2 of 3 | 1 |' in table


def test_markdown_headline_table(study):
    _, failed, summary, plan = study
    text = markdown(summary, plan, failed, 6)
    begin, end = table_marks('toy')
    table = text[text.index(begin) : text.index(end)]
    rows = [r for r in table.splitlines() if r.startswith('| default')]
    assert rows[0].startswith(
        '| default | geo − plain | 2 | 1 | 62.00 ± 0.71 | 59.00 ± 0.71 | '
        '+3.00 [+3.00, +3.00] | supported |'
    )
    assert rows[1].endswith(f'{INCONCLUSIVE} |')
    assert '+1 F1 (the smallest gain' in text[text.index(end) :]
    # Two pairs: the per-AU column says no AU can pass.
    assert 'none can pass: 2 pairs give p ≥ 0.5' in text


def test_replace_marked():
    b, e = table_marks('a')
    other_b, other_e = table_marks('b')
    # The other study's table is left as it is.
    doc = f'intro\n{other_b}\nkept\n{other_e}\n{b}\nold\n{e}\nrest\n'
    block = f'x\n{b}\n| new |\n{e}\ny'
    assert replace_marked(doc, block, 'a', 'page.md') == (
        f'intro\n{other_b}\nkept\n{other_e}\n{b}\n| new |\n{e}\nrest\n'
    )
    with pytest.raises(ValueError, match='page.md: needs exactly one'):
        replace_marked('no marks', block, 'a', 'page.md')
    with pytest.raises(ValueError, match='the table: needs exactly one'):
        replace_marked(doc, block, 'b', 'page.md')  # the block is a's
    with pytest.raises(ValueError, match='comes before'):
        replace_marked(f'{e} {b}', block, 'a', 'doc')


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    runs=st.integers(2, 4),
    subjects=st.integers(2, 5),
)
def test_swapping_arms_mirrors_difference_and_interval(seed, runs, subjects):
    rng = np.random.default_rng(seed)
    plan = _plan_of_two()

    def arm():
        out = {}
        for r in range(runs):
            c = rng.integers(0, 20, (subjects, len(AUS), 4))
            out[(r, 1)] = dict(
                seed=r,
                fold=1,
                arm='x',
                subjects=[f's{i}' for i in range(subjects)],
                counts=c,
                au_names=AUS,
            )
        return out

    a, b = arm(), arm()
    ab, ba = compare(a, b, plan, runs), compare(b, a, plan, runs)
    assert ab['diff'] == pytest.approx(-ba['diff'], abs=1e-9)
    np.testing.assert_allclose(
        ab['interval'], -np.array(ba['interval'][::-1]), atol=1e-9
    )
    for au in AUS:
        assert ab['per_au'][au]['p'] == pytest.approx(ba['per_au'][au]['p'])


_PLAN = {}


def _plan_of_two():
    if not _PLAN:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            _PLAN['plan'] = write_plan(
                f'{tmp}/plan.md', ['a', 'b'], ('a', 'b')
            )
    return _PLAN['plan']


HOSTS = [
    None,
    dict(cpu='CPU A', cpu_capability='AVX2', torch='2.0'),
    dict(cpu='CPU A', cpu_capability='AVX512', torch='2.0'),
]
THREADS = [None, '1', '2']


@settings(max_examples=40, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2)),
        min_size=1,
        max_size=6,
    )
)
def test_check_one_machine_accepts_exactly_one_machine(picks):
    records = []
    for i, (h, t) in enumerate(picks):
        r = dict(arm='geo', variant='default', seed=i, fold=1)
        # Records that predate a field do not have the key at all.
        if HOSTS[h] is not None:
            r['host'] = HOSTS[h]
        if THREADS[t] is not None:
            r['omp_num_threads'] = THREADS[t]
        records.append(r)
    if len(set(picks)) == 1:
        check_one_machine(records, 'study')
        h, t = picks[0]
        same = dict(host=HOSTS[h], omp_num_threads=THREADS[t])
        check_one_machine(records, 'study', same)
        other = dict(same, omp_num_threads=THREADS[(t + 1) % 3])
        with pytest.raises(ValueError, match='this process'):
            check_one_machine(records, 'study', other)
    else:
        with pytest.raises(ValueError, match='study: runs of different'):
            check_one_machine(records, 'study')


def test_load_records_refuses_a_study_of_two_machines(tmp_path):
    write_run(str(tmp_path), 'plain', 0, balanced(50, 50), host=HOSTS[1])
    write_run(str(tmp_path), 'geo', 0, balanced(53, 53), host=HOSTS[2])
    with pytest.raises(ValueError) as err:
        load_records(str(tmp_path))
    message = str(err.value)
    assert 'CPU A, AVX2' in message and 'CPU A, AVX512' in message
    assert 'plain__default__seed0__fold1' in message
    assert 'OMP_NUM_THREADS=unset' in message


def test_folds_pooled_and_alone(tmp_path):
    """Pairs over two folds: the pooled difference and each fold's alone, and
    the all-present baseline as the mean of the folds'."""
    root = str(tmp_path)
    # Fold 1: geo +4 on every AU; fold 2: geo +1. Fold 2's AU0 has 200 of
    # 300 frames positive (tp 100, fn 100), so its all-present F1 is 80.
    fold2 = {
        'plain': [(100, 0, 100), (60, 40, 40)],
        'geo': [(101, 0, 99), (61, 39, 39)],
    }
    for seed in range(2):
        write_run(root, 'plain', seed, balanced(50, 60))
        write_run(root, 'geo', seed, balanced(54, 64))
        for arm, counts in fold2.items():
            write_run(root, arm, seed, counts, fold=2)
    plan = write_plan(
        tmp_path / 'plan.md',
        ['plain', 'geo'],
        ('geo', 'plain'),
        (),
        [0, 1],
        [1, 2],
    )
    records, _ = load_records(root)
    summary = analyse(records, plan)
    v = summary['variants']['default']
    assert v['folds'] == [1, 2]
    c = v['comparisons']['geo - plain']
    assert c['n_pairs'] == 4
    assert set(c['by_fold']) == {'1', '2'}
    assert c['by_fold']['1']['diff'] == pytest.approx(4.0)
    assert c['by_fold']['1']['n_pairs'] == 2
    alone = c['by_fold']['2']['diff']
    assert 0 < alone < 4.0
    assert c['diff'] == pytest.approx((4.0 + alone) / 2)
    # all-present F1: fold 1 both AUs 50; fold 2: AU0 80, AU1 50.
    assert v['all_present'] == pytest.approx(dict(zip(AUS, [65.0, 50.0])))
    text = markdown(summary, plan, [], 8)
    assert '| geo − plain, fold 2 alone | 2 |' in text
    row = next(r for r in text.splitlines() if r.startswith('| default | geo'))
    assert row.startswith('| default | geo − plain | 4 | 1, 2 |')
    one_fold = compare(
        {k: r for k, r in _runs(records, 'geo').items() if k[1] == 1},
        {k: r for k, r in _runs(records, 'plain').items() if k[1] == 1},
        plan,
        2,
    )
    assert one_fold['by_fold'] == {}


def _runs(records, arm):
    return {(r['seed'], r['fold']): r for r in records if r['arm'] == arm}


def test_an_intensity_study_compares_icc(tmp_path):
    """Arm 'close' estimates the intensity codes with less noise than arm
    'far' in every run: its ICC is higher, by an interval above 0; the
    report speaks of ICC, not F1."""
    rng = np.random.default_rng(3)
    frames = 3 * 300
    codes = rng.integers(0, 6, (frames, len(AUS))).astype(np.uint8)
    codes[::11, 0] = 9
    for seed in range(3):
        for arm, noise in (('far', 1.5), ('close', 0.5)):
            est = codes + rng.normal(0, noise, codes.shape)
            write_run(
                str(tmp_path),
                arm,
                seed,
                balanced(50, 60),
                intensity=(est.astype(np.float32), codes),
            )
    plan = write_plan(
        tmp_path / 'plan.md',
        ['far', 'close'],
        ('close', 'far'),
        (),
        [0, 1, 2],
        metric='icc',
        min_useful_gain_icc=0.02,
    )
    assert plan.metric == 'icc' and plan.min_useful_gain == 0.02
    records, _ = load_records(str(tmp_path))
    summary = analyse(records, plan)
    v = summary['variants']['default']
    c = v['comparisons']['close - far']
    assert c['interval'][0] > 0 and c['verdict'] == SUPPORTED
    assert c['diff'] == pytest.approx(
        v['arms']['close']['mean'] - v['arms']['far']['mean']
    )
    assert 'num_learned' not in v['arms']['close']
    text = markdown(summary, plan, [], 6)
    assert 'mean ICC(3,1), A ± sd' in text and 'AUs learned' not in text


def test_a_completion_takes_each_pair_from_one_machine(tmp_path):
    """The study's machine has plain seeds 0, 1 and geo seed 0; the
    completion's machine has geo and plain seed 1. The seed-1 pair is the
    completion's, its plain seed 1 being 10 points below the study's."""
    study, completion = tmp_path / 'toy', tmp_path / 'toy_completion'
    study.mkdir()
    completion.mkdir()
    write_run(str(study), 'plain', 0, balanced(50, 60), host=HOSTS[1])
    write_run(str(study), 'geo', 0, balanced(53, 63), host=HOSTS[1])
    write_run(str(study), 'plain', 1, balanced(55, 65), host=HOSTS[1])
    write_run(str(completion), 'plain', 1, balanced(45, 55), host=HOSTS[2])
    write_run(str(completion), 'geo', 1, balanced(46, 56), host=HOSTS[2])
    base = write_plan(
        tmp_path / 'plan.md',
        ['plain', 'geo'],
        ('geo', 'plain'),
        (),
        [0, 1],
        preregistered=True,
    )
    # The completion adds geo's seed 1 and plain's seed 1.
    plan = read_plan(
        write_completion_page(
            tmp_path,
            dict(
                geo=dict(seeds=[1], folds=[1]),
                plain=dict(seeds=[1], folds=[1]),
            ),
            study='toy_completion',
        )
    )
    records, _ = load_records(str(completion))
    completed, _ = load_records(str(study))
    summary = analyse(records, plan, completed)
    v = summary['variants']['default']
    c = v['comparisons']['geo - plain']
    # Seed 0 +3 (study's machine), seed 1 +1 (the completion's): never
    # geo's 46 against the study's plain 55.
    assert c['pairs'] == [[0, 1], [1, 1]]
    assert c['pairs_from_completion'] == [[1, 1]]
    assert c['diff'] == pytest.approx(2.0)
    assert c['n_pairs'] == c['planned_pairs'] == 2
    assert c['verdict'] != TOO_FEW_PAIRS
    # plain's summary keeps the study's own seed 1.
    assert v['arms']['plain']['scores'] == pytest.approx([55.0, 60.0])
    assert v['arms']['geo']['scores'] == pytest.approx([58.0, 51.0])
    assert summary['machine']['host'] == HOSTS[1]
    assert summary['completion']['machine']['host'] == HOSTS[2]
    assert summary['plan']['path'] == base.path
    assert summary['completion']['same_runs'] == [
        dict(
            arm='plain',
            variant='default',
            seed=1,
            fold=1,
            study=60.0,
            completion=50.0,
        )
    ]
    text = markdown(summary, plan, [], 5)
    assert text.startswith('# Study `toy`, completed by `toy_completion`')
    assert '| default | geo − plain | 2 (1 from the completion) |' in text
    assert '| plain | default | 1 | 1 | 60.00 | 50.00 | -10.00 |' in text
    with pytest.raises(ValueError, match='only a completion is'):
        analyse(records, plan)
    with pytest.raises(ValueError, match='only a completion is'):
        analyse(completed, base, records)
