# tools/plot/frag.gp - fragmentation over time from hk-replay --frag CSV.
#   gnuplot -e "csv='frag.csv'; out='frag.svg'; trace='real-sqlite3'" tools/plot/frag.gp
# Top: external fragmentation 1 - largest_free/free per heapkit policy.
# Bottom: live requested bytes and the heap's used bytes (headers included).
# The CSV holds 200 evenly spaced points plus the op right after the peak of
# live bytes and the most fragmented op, so both extremes are drawn. Policies
# often give identical curves: each is drawn narrower and in a different dash
# than the one before it, so lines on top of each other all stay visible.
set terminal svg size 900,640 dynamic font "sans,11" background "#ffffff"
set output out
set datafile separator ","
set key top right
set multiplot layout 2,1 title sprintf("heapkit fragmentation over time, trace %s", trace)
set ylabel "1 - largest free / free"
set yrange [0:1]
set grid
plot csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $3 : 1/0):8 \
         with lines lw 6 lc rgb "#a9c7ee" title "tlsf", \
     csv using (strcol(1) eq trace && strcol(2) eq "first" ? $3 : 1/0):8 \
         with lines lw 3 dt 2 lc rgb "#d95f02" title "first (dashed)", \
     csv using (strcol(1) eq trace && strcol(2) eq "best" ? $3 : 1/0):8 \
         with lines lw 1 lc rgb "#1b1b1b" title "best (thin)"
set ylabel "bytes"
set xlabel "operation"
set autoscale y
set format y "%.1s%c"
stats csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $4 : 1/0) nooutput
set label 1 sprintf("peak %d bytes live", STATS_max) at graph 0.02, graph 0.93
plot csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $3 : 1/0):4 with lines lw 1.5 title "live requested", \
     csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $3 : 1/0):5 with lines lw 1 title "used (tlsf, with headers)"
unset multiplot
