# tools/plot/frag.gp - fragmentation over time from hk-replay --frag CSV.
#   gnuplot -e "csv='frag.csv'; out='frag.svg'; trace='real-sqlite3'" tools/plot/frag.gp
# Top: external fragmentation 1 - largest_free/free per heapkit policy.
# Bottom: live requested bytes and the heap's used bytes (headers included).
set terminal svg size 900,640 dynamic font "sans,11" background "#ffffff"
set output out
set datafile separator ","
set key top right
set multiplot layout 2,1 title sprintf("heapkit fragmentation over time, trace %s", trace)
set ylabel "1 - largest free / free"
set yrange [0:1]
set grid
plot for [p in "tlsf first best"] csv using (strcol(1) eq trace && strcol(2) eq p ? $3 : 1/0):8 \
     with lines lw 1.5 title p
set ylabel "bytes"
set xlabel "operation"
set autoscale y
set format y "%.1s%c"
plot csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $3 : 1/0):4 with lines lw 1.5 title "live requested", \
     csv using (strcol(1) eq trace && strcol(2) eq "tlsf" ? $3 : 1/0):5 with lines lw 1 title "used (tlsf, with headers)"
unset multiplot
