#!/bin/sh
# usage: race.sh TOOL TAG PYTHON SCRIPT [extra valgrind opts...]
# Runs Valgrind TOOL (helgrind|drd) on PYTHON SCRIPT, XML to runs/TAG-TOOL.xml,
# then prints the counts (tools/vgcount.py).
tool=$1; tag=$2; py=$3; script=$4; shift 4
out=/work/h22/runs/$tag-$tool.xml
env -i PATH=$PATH HOME=$HOME PYTHONHASHSEED=0 nice -n 10 valgrind --tool=$tool \
    --xml=yes --xml-file=$out --num-callers=20 "$@" $py $script $VGARGS \
    > /work/h22/runs/$tag-$tool.stdout 2> /work/h22/runs/$tag-$tool.stderr
echo "exit $?"
python3 /work/h22/tools/vgcount.py $out -n 25
