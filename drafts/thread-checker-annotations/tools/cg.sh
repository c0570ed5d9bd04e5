#!/bin/sh
# usage: cg.sh TAG PYTHON  -- Callgrind instruction count of bench/workload.py 200000
tag=$1; py=$2
env -i PATH=$PATH HOME=$HOME PYTHONHASHSEED=0 nice -n 10 valgrind --tool=callgrind \
   --callgrind-out-file=/work/h22/runs/cg-$tag.out $py /work/main/bench/workload.py 200000 \
   2> /work/h22/runs/cg-$tag.stderr
grep -o "Collected : [0-9]*" /work/h22/runs/cg-$tag.stderr
