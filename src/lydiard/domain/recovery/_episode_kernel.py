"""The compiled day-by-day pass behind the fatigue episodes of :mod:`.stage`.

The rolling statistics (7-day means, 60-day baselines, z-scores) are computed with prefix
sums in :mod:`.stage`; what cannot be written as a rolling window is the *state* of a
fatigue episode, because it depends on its own past:

* **No forgetting (anchoring).** While an episode lasts, the references of every marker
  (HRV band, resting-HR baseline, wellness mean and SD, usual sleep, session-marker
  baselines) are frozen at their values on the episode's first day, and "reduced load" is
  measured against the chronic load before the episode (the 28 days ending a week before
  its start). Plews et al. 2012 judged their NFOR triathlete against the pre-camp
  baseline; Meeusen et al. 2013 define NFOR as a decrement persisting after reduced load,
  which needs the load *before* the reduction as its reference (``docs/science.md`` §3).
* **No flapping (hysteresis).** An episode (deep fatigue or worse) is left only once its
  return criteria (every known marker back inside its anchored range) have held for the
  stage's days (deep 3, overreaching 7, overtraining 14): Buchheit 2014 asks to interpret
  changes against the typical error and over weeks, not daily. Inside an episode the
  stage only rises (deep → overreaching → overtraining).
* **Races and travel.** In the post-race window (the athlete's own crash length once two
  or more races are on record, otherwise the load rule) and for two days after travel, low
  markers are expected: they do not open an episode.

The loop runs in machine code (Numba, cached on disk), one athlete row after another; a
row's result does not depend on the other rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Rows of the int output block (``iout``), by name.
INT_OUTPUTS: tuple[str, ...] = (
    "stage",
    "episode_day",  # day within the current episode, 1 = its first day (0 = none)
    "ok_run",  # days running on which every known marker is inside its (anchored) range
    "hrv_below_run",
    "hrv_above_run",
    "rhr_high_run",
    "reduced_load_run",  # days of reduced load vs the pre-episode chronic load
    "episode_peak",  # highest stage of the current (or, after it, the last) episode
    "since_episode_end",  # days since the last episode ended (−1 = none yet)
    "last_episode_days",  # length of the last finished episode (days)
    "last_days_to_range",  # days from its start until markers were back in range for good
    "race_window",  # post-race window of the last race (days), 0 = no race yet
    "since_race",  # days since the last race (−1 = none)
    "race_history_n",  # finished post-race crashes measured for this athlete
    "race_history_lo",  # shortest / longest of the last three (days)
    "race_history_hi",
    "in_range",  # 1 = every known marker inside its range today
    "perf_down",
    "well_deep",
)
#: Rows of the float output block (``fout``), by name.
FLOAT_OUTPUTS: tuple[str, ...] = (
    "hrv_band_low",
    "hrv_band_high",
    "rhr_base",
    "wellness_z_7d",
    "wellness_z",
    "last_tsb_gain",  # form (TSB) at the end of the last episode minus at its start (AU)
    "pre_episode_load",  # the 28-day mean load before the current episode (AU/day)
    "evidence_sum",  # the accumulated evidence of fatigue (CUSUM, SD units)
    "evidence_today",  # today's evidence e (SD units, before the drift k)
)

#: Integer parameters (``ipar``), by name.
INT_PARAMS: tuple[str, ...] = (
    "deep_run",
    "alone_run",
    "gap",
    "need_deep",
    "need_nfor",
    "need_ots",
    "nfor_min_days",
    "nfor_reduced_days",
    "ots_nfor_days",
    "ots_ill_eps",
    "race_min",
    "race_max",
    "well_low_days",
    "persist",
    "surface_exit",
    "long_episode",
)
#: Float parameters (``fpar``), by name.
FLOAT_PARAMS: tuple[str, ...] = (
    "band_sd",
    "rhr_high",
    "sleep_def",
    "well_low_z",
    "well_sd_floor",
    "reduced_frac",
    "dec_high",
    "cusum_k",
    "cusum_h",
    "cusum_exit",
    "w_hrv",
    "w_rhr",
    "w_well",
    "w_perf",
    "surface_evidence",
    "evidence_floor",
    "w_load",
    "acwr_high",
    "k_loaded",
    "k_acwr",
    "k_quiet",
    "k_stress_onset_z",
    "k_stress_z",
)


@numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")  # type: ignore[untyped-decorator]
def episode_pass(
    fin: FloatArray,  # (21, A, D) float inputs, see stage._episodes
    perf_rec: FloatArray,  # (K, A, D) recent means of the session markers
    perf_base: FloatArray,  # (K, A, D) their rolling baselines
    perf_sign: FloatArray,  # (K,) −1 = lower is worse, +1 = higher is worse
    perf_thr: FloatArray,  # (K,) % change that counts
    flags: NDArray[np.int8],  # (6, A, D): race, travel_recent, ill, raw_surface, calibrating, ill_eps90
    ipar: NDArray[np.int64],
    fpar: FloatArray,
    iout: NDArray[np.int32],  # (len(INT_OUTPUTS), A, D)
    fout: FloatArray,  # (len(FLOAT_OUTPUTS), A, D)
) -> None:
    n_ath = fin.shape[1]
    n_days = fin.shape[2]
    n_perf = perf_rec.shape[0]
    deep_run, alone_run, gap = ipar[0], ipar[1], ipar[2]
    need_deep, need_nfor, need_ots = ipar[3], ipar[4], ipar[5]
    nfor_min_days, nfor_reduced_days, ots_nfor_days, ots_ill_eps = ipar[6], ipar[7], ipar[8], ipar[9]
    race_min, race_max, well_low_days, persist = ipar[10], ipar[11], ipar[12], ipar[13]
    surface_exit = ipar[14]
    long_ep = ipar[15]
    band_sd, rhr_high_bpm, sleep_def, well_low_z = fpar[0], fpar[1], fpar[2], fpar[3]
    well_sd_floor, reduced_frac, dec_high = fpar[4], fpar[5], fpar[6]
    c_k, c_h, c_exit = fpar[7], fpar[8], fpar[9]
    w_hrv, w_rhr, w_well, w_perf = fpar[10], fpar[11], fpar[12], fpar[13]
    c_surf = fpar[14]
    # a high HRV or a low RHR is not evidence of freshness (saturation: Plews 2013)
    e_floor = fpar[15]
    w_load, acwr_high = fpar[16], fpar[17]
    k_loaded, k_acwr, k_quiet = fpar[18], fpar[19], fpar[20]
    k_s_on, k_s_full = fpar[21], fpar[22]
    anc_perf = np.empty(n_perf)
    low_ring = np.zeros(7, dtype=np.int8)
    known_ring = np.zeros(7, dtype=np.int8)
    bad_ring = np.zeros(14, dtype=np.int8)
    race_hist = np.zeros(3, dtype=np.int64)
    for a in range(n_ath):
        in_ep = False
        stage_ep = 0
        ep_start = -1
        anc_hm = anc_hsd = anc_rb = anc_wm = anc_wsd = anc_sl = anc_load = np.nan
        tsb_start = 0.0
        below_run = above_run = rhr_run = 0
        h_last = r_last = -1000
        h_below = h_above = r_state = False
        ok_run = 0
        reduced_days = 0
        nfor_days = 0
        deep_raw_run = 0
        since_end = -1
        last_len = 0
        last_to_range = 0
        last_gain = np.nan
        peak = 0
        low_ring[:] = 0
        known_ring[:] = 0
        bad_ring[:] = 0
        n_low = 0
        n_known = 0
        n_bad = 0
        last_race = -1
        race_win = 0
        race_open = False  # a post-race crash being measured
        race_hist[:] = 0
        n_races = 0
        cusum = 0.0
        anc_rsd = np.nan
        clear_run = 0
        prev_stage = 0
        perf2_run = 0
        e_ring = np.zeros(7)
        e_cnt_ring = np.zeros(7, dtype=np.int64)
        e_sum = 0.0
        e_cnt = 0
        for d in range(n_days):
            ln7, hb_m, hb_sd = fin[0, a, d], fin[1, a, d], fin[2, a, d]
            rhr7, rb_m = fin[3, a, d], fin[4, a, d]
            w7, widx, wb_m, wb_sd = fin[5, a, d], fin[6, a, d], fin[7, a, d], fin[8, a, d]
            sl7, slb = fin[9, a, d], fin[10, a, d]
            load7, load_prior, tsb = fin[11, a, d], fin[12, a, d], fin[13, a, d]
            dec = fin[14, a, d]
            race_rule = fin[15, a, d]  # races.post_race_recovery_days of the day's load
            ln_today, rhr_today, rb_sd = fin[16, a, d], fin[17, a, d], fin[18, a, d]
            acwr = fin[19, a, d]
            stress7 = fin[20, a, d]  # 7-day mean z of the stress item (life stress)
            race = flags[0, a, d] != 0
            travel = flags[1, a, d] != 0
            ill = flags[2, a, d] != 0
            raw_surface = flags[3, a, d] != 0
            calibrating = flags[4, a, d] != 0
            ill_eps = flags[5, a, d]
            day_in_ep = d - ep_start if in_ep else 0
            if not in_ep and since_end >= 0:
                since_end += 1
            # ---- references: anchored during an episode, rolling otherwise
            if in_ep:
                ref_hm, ref_hsd, ref_rb, ref_wm, ref_wsd, ref_sl = (
                    anc_hm, anc_hsd, anc_rb, anc_wm, anc_wsd, anc_sl)
            else:
                ref_hm, ref_hsd, ref_rb, ref_wm, ref_wsd, ref_sl = hb_m, hb_sd, rb_m, wb_m, wb_sd, slb
            lo = ref_hm - band_sd * ref_hsd
            hi = ref_hm + band_sd * ref_hsd
            fout[0, a, d] = lo
            fout[1, a, d] = hi
            fout[2, a, d] = ref_rb
            # ---- HRV runs (unknown days bridged for ``gap`` days)
            h_known = np.isfinite(ln7) and np.isfinite(lo)
            if h_known:
                b = ln7 < lo
                u = ln7 > hi
                below_run = below_run + 1 if b else 0
                above_run = above_run + 1 if u else 0
                h_below, h_above, h_last = b, u, d
            elif d - h_last <= gap:
                below_run = below_run + 1 if (h_below and below_run > 0) else 0
                above_run = above_run + 1 if (h_above and above_run > 0) else 0
            else:
                below_run = above_run = 0
                h_below = h_above = False
            # ---- resting HR
            r_known = np.isfinite(rhr7) and np.isfinite(ref_rb)
            r_high = r_known and rhr7 >= ref_rb + rhr_high_bpm
            r_low = r_known and rhr7 < ref_rb
            if r_known:
                rhr_run = rhr_run + 1 if r_high else 0
                r_state, r_last = r_high, d
            elif d - r_last <= gap:
                rhr_run = rhr_run + 1 if (r_state and rhr_run > 0) else 0
            else:
                rhr_run = 0
                r_state = False
            # ---- wellness vs its reference
            sd_w = ref_wsd if ref_wsd > well_sd_floor else well_sd_floor
            z_today = (widx - ref_wm) / sd_w
            z7 = (w7 - ref_wm) / sd_w
            fout[3, a, d] = z7
            fout[4, a, d] = z_today
            slot = d % 7  # running counts over a 7-day ring
            k_new = 1 if np.isfinite(z_today) else 0
            l_new = 1 if (k_new == 1 and z_today <= well_low_z) else 0
            n_known += k_new - known_ring[slot]
            n_low += l_new - low_ring[slot]
            known_ring[slot] = k_new
            low_ring[slot] = l_new
            well_deep = n_known >= 3 and n_low >= well_low_days
            w_low7 = np.isfinite(z7) and z7 <= well_low_z
            # ---- session markers vs their (anchored) baselines
            perf_down = np.isfinite(dec) and dec > dec_high
            n_perf_down = 1 if perf_down else 0
            n_pct_down = 0  # markers whose output per unit of effort fell (a decrement)
            for k in range(n_perf):
                base = anc_perf[k] if in_ep else perf_base[k, a, d]
                rec = perf_rec[k, a, d]
                if np.isfinite(rec) and np.isfinite(base) and base != 0.0:
                    pct = 100.0 * (rec / base - 1.0)
                    if perf_sign[k] * pct >= perf_thr[k]:
                        perf_down = True
                        n_perf_down += 1
                        n_pct_down += 1
            # ---- the deep condition (science.md §3 stage 2), against the references
            deep_alone = below_run >= alone_run  # two weeks below the band count on their own
            sleep_low = np.isfinite(sl7) and np.isfinite(ref_sl) and sl7 <= ref_sl - sleep_def
            # "saturation": HRV above its band with RHR down and feeling low (Le Meur 2013;
            # Plews 2013): a warning, not a green light
            deep_sat = above_run >= deep_run and r_low and w_low7
            # working harder for the same numbers: several session markers worse at once
            perf2_run = perf2_run + 1 if n_perf_down >= 2 else 0
            deep_perf = n_perf_down >= 3 or (n_perf_down >= 2 and (
                w_low7 or r_high or below_run >= deep_run or sleep_low or perf2_run >= 7))
            # evidence accumulation (CUSUM) of today's deviations against the references
            e = 0.0
            n_e = 0
            if np.isfinite(ln_today) and np.isfinite(ref_hm) and ref_hsd > 0:
                e += w_hrv * min(max((ref_hm - ln_today) / ref_hsd, e_floor), 3.0)
                n_e += 1
            ref_rsd = anc_rsd if in_ep else rb_sd
            if np.isfinite(rhr_today) and np.isfinite(ref_rb) and np.isfinite(ref_rsd):
                # without an HRV baseline, resting HR carries the weight of both (the
                # resting-HR path; lower confidence, see stage.py)
                w_r = w_rhr if np.isfinite(ref_hm) else w_rhr + w_hrv
                e += w_r * min(max((rhr_today - ref_rb) / max(ref_rsd, 1.5), e_floor), 3.0)
                n_e += 1
            if np.isfinite(z_today):
                e += w_well * min(max(-z_today, -3.0), 3.0)
                n_e += 1
            e += w_perf * n_perf_down
            if n_e > 0 and np.isfinite(acwr) and acwr > acwr_high:
                # load context (science.md §3): a load spike adds a little evidence
                e += w_load * min((acwr - acwr_high) / 0.15, 2.0)
            if n_e > 0:
                # the drift depends on the context of the day (science.md §4): recovery
                # depends on all the stress an athlete carries, not only training (Meeusen
                # 2013: overreaching follows intensified training; Kellmann 2018: the
                # recovery-stress balance). k_quiet on an ordinary day, falling linearly
                # to k_loaded with the strongest context present:
                # * a load build: EWMA ACWR from 1 to k_acwr;
                # * sustained life stress: the 7-day stress z from k_s_on to k_s_full;
                # * a performance decrement (a session marker worse than its baseline),
                #   the defining sign of overreaching whatever the load: full context.
                # (the resting-HR path, without an HRV baseline, keeps its own fixed drift
                # c_k: its weights differ and it was not calibrated with this rule)
                k_day = k_quiet
                if not np.isfinite(ref_hm):
                    k_day = c_k
                elif n_pct_down > 0:
                    k_day = k_loaded
                else:
                    ctx = 0.0
                    if np.isfinite(acwr) and acwr > 1.0:
                        ctx = min((acwr - 1.0) / (k_acwr - 1.0), 1.0)
                    if np.isfinite(stress7) and stress7 < k_s_on:
                        ctx = max(ctx, min((k_s_on - stress7) / (k_s_on - k_s_full), 1.0))
                    k_day += (k_loaded - k_quiet) * ctx
                cusum = min(max(0.0, cusum + e - k_day), c_exit * c_h)
            deep_cusum = cusum >= c_h
            deep_cond = deep_cusum or deep_sat or deep_perf or deep_alone
            deep_raw_run = deep_raw_run + 1 if deep_cond else 0
            # ---- every known marker in range (the return criteria of every stage)
            # the week's net evidence: its 7-day mean against the drift k
            e_slot = d % 7
            e_new = e if n_e > 0 else 0.0
            c_new = 1 if n_e > 0 else 0
            e_sum += e_new - e_ring[e_slot]
            e_cnt += c_new - e_cnt_ring[e_slot]
            e_ring[e_slot] = e_new
            e_cnt_ring[e_slot] = c_new
            week_bad = e_cnt >= 3 and e_sum / e_cnt >= c_k
            # (a missing morning bridged by the runs keeps the last known state)
            markers_bad = below_run > 0 or (above_run > 0 and r_low) or r_high or w_low7
            bad = (markers_bad and (week_bad or not in_ep or day_in_ep < long_ep)) or (
                deep_sat or deep_perf)
            ok_run = 0 if bad else ok_run + 1
            # ---- post-race window: the athlete's own crash length once ≥ 2 are on record
            if race:
                last_race = d
                rule = int(race_rule) if np.isfinite(race_rule) else race_min
                if n_races >= 2:
                    m = min(n_races, 3)
                    s = 0
                    for j in range(m):
                        s += race_hist[j]
                    race_win = min(max(int(s / m + 0.5), race_min), race_max)
                else:
                    race_win = rule
                race_open = True
            since_race = d - last_race if last_race >= 0 else -1
            if race_open and since_race >= 1 and (ok_run >= 2 or since_race > race_max):
                crash = min(since_race - ok_run, race_max)
                crash = max(crash, 0)
                race_hist[2] = race_hist[1]
                race_hist[1] = race_hist[0]
                race_hist[0] = crash
                n_races += 1
                race_open = False
            in_race_window = last_race >= 0 and 0 <= since_race <= race_win
            # ---- the episode state machine
            if calibrating:
                stage = -1
            elif not in_ep:
                suppressed = in_race_window or travel or ill
                if deep_cond and deep_raw_run >= persist and not suppressed:
                    in_ep = True
                    ep_start = d
                    anc_hm, anc_hsd, anc_rb, anc_wm, anc_wsd, anc_sl = (
                        hb_m, hb_sd, rb_m, wb_m, wb_sd, slb)
                    for k in range(n_perf):
                        anc_perf[k] = perf_base[k, a, d]
                    anc_load = load_prior
                    anc_rsd = rb_sd
                    tsb_start = tsb
                    stage_ep = 2
                    peak = 2
                    reduced_days = 0
                    nfor_days = 0
                    bad_ring[:] = 0
                    n_bad = 0
                    ok_run = 0
                    stage = 2
                else:
                    # surface fatigue: today's signals, backed by some accumulated evidence
                    surf = (raw_surface and cusum >= c_surf) or (deep_cond and suppressed)
                    clear_run = 0 if surf else clear_run + 1
                    # surface fatigue is left after ``surface_exit`` clear days (no flapping)
                    stage = 1 if (surf or (prev_stage == 1 and clear_run < surface_exit)) else 0
            else:
                stage = stage_ep
            if in_ep and not calibrating:
                day_in = d - ep_start
                reduced = np.isfinite(anc_load) and anc_load > 0 and load7 <= reduced_frac * anc_load
                reduced_days = reduced_days + 1 if reduced else reduced_days
                b_new = 1 if bad else 0
                n_bad += b_new - bad_ring[day_in % 14]
                bad_ring[day_in % 14] = b_new
                if (stage_ep == 2 and day_in + 1 >= nfor_min_days and reduced_days >= nfor_reduced_days
                        and n_bad >= 10):
                    stage_ep = 3
                if stage_ep >= 3:
                    nfor_days += 1
                if stage_ep == 3 and nfor_days >= ots_nfor_days:
                    stage_ep = 4
                if ill_eps >= ots_ill_eps:  # recurrent illness during an episode: red flag
                    stage_ep = 4
                peak = max(peak, stage_ep)
                stage = stage_ep
                need = need_deep if stage_ep == 2 else (need_nfor if stage_ep == 3 else need_ots)
                if ok_run >= need:
                    # return criteria held for their days: the episode ends today
                    in_ep = False
                    last_len = day_in + 1
                    last_to_range = day_in + 1 - ok_run
                    last_gain = tsb - tsb_start
                    since_end = 0
                    cusum = 0.0
                    stage = 1 if raw_surface else 0
            iout[0, a, d] = stage
            prev_stage = stage
            iout[1, a, d] = (d - ep_start + 1) if in_ep else 0
            iout[2, a, d] = ok_run
            iout[3, a, d] = below_run
            iout[4, a, d] = above_run
            iout[5, a, d] = rhr_run
            iout[6, a, d] = reduced_days if in_ep else 0
            iout[7, a, d] = peak
            iout[8, a, d] = since_end if not in_ep else -1
            iout[9, a, d] = last_len
            iout[10, a, d] = last_to_range
            iout[11, a, d] = race_win if last_race >= 0 else 0
            iout[12, a, d] = since_race
            iout[13, a, d] = n_races
            m = min(n_races, 3)
            lo_h = race_max
            hi_h = 0
            for j in range(m):
                lo_h = min(lo_h, race_hist[j])
                hi_h = max(hi_h, race_hist[j])
            iout[14, a, d] = lo_h if m else 0
            iout[15, a, d] = hi_h if m else 0
            iout[16, a, d] = 0 if bad else 1
            iout[17, a, d] = 1 if perf_down else 0
            iout[18, a, d] = 1 if well_deep else 0
            fout[5, a, d] = last_gain
            fout[6, a, d] = anc_load if in_ep else np.nan
            fout[7, a, d] = cusum
            fout[8, a, d] = e if n_e > 0 else np.nan
