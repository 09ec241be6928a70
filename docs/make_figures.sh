#!/bin/sh
# Regenerates the figures of README.md and docs/*.md from the shipped evidence.
# Run from the repository root after the evidence or the figure code changes:
#   sh docs/make_figures.sh
set -eu
out=docs/img
f="--overwrite --dpi 150"
metaall forest relapse -o $out/relapse_forest.png $f
metaall forest relapse --subgroup mrd_neg --width single -o $out/relapse_mrd_neg_single.png $f
metaall forest relapse --subgroup mrd_neg --style bmj -o $out/relapse_mrd_neg_forest_bmj.png $f
metaall forest os --style jama -o $out/os_forest_jama.png $f
metaall forest relapse --rob -o $out/relapse_forest_rob.png $f
metaall funnel relapse --contours --trimfill --egger -o $out/relapse_funnel.png $f
metaall sensitivity-plot relapse --leave-one-out -o $out/relapse_leave_one_out.png $f
metaall sensitivity-plot relapse --cumulative -o $out/relapse_cumulative.png $f
metaall sensitivity-plot relapse --baujat -o $out/relapse_baujat.png $f
metaall tsa-plot relapse -o $out/relapse_tsa.png $f
metaall posterior relapse --subgroup mrd_neg -o $out/relapse_mrd_neg_posterior.png $f
metaall rob-plot relapse -o $out/relapse_rob_summary.png $f
metaall forest cart_cr_cri -o $out/cart_cr_cri_forest.png $f
# illustrative rates (invented, not evidence): the shipped CAR-T studies have no years
metaall bubble --data docs/examples/rates_year.csv --mod year --labels -o $out/bubble_year.png $f
