"""curses.setupterm() then curses.initscr() loses setupterm()'s terminal.

_curses_setupterm_impl() (Modules/_cursesmodule.c) calls ncurses'
setupterm(), which allocates a TERMINAL (terminfo entry, capability
strings) and makes it the current one (cur_term).  initscr() then calls
newterm(), which allocates another TERMINAL and makes it current, without
freeing the first: ncurses leaves that to the caller (del_curterm()), and
the _curses module neither calls it nor offers it.  About 16 KB lost.

Natively the script passes.  Under Memcheck (no terminal needed):

    TERM=xterm valgrind --leak-check=full build/python \
        tests/suite/repro/curses_setupterm_leak.py > /dev/null

reports one block "definitely lost" (760 bytes direct, 15 KB indirect)
allocated by _nc_setupterm < _curses_setupterm_impl.  Seen in test_curses,
whose setUpClass calls setupterm() before its cases call initscr().
"""

import curses
import sys

curses.setupterm("xterm", sys.__stdout__.fileno())
curses.initscr()
curses.endwin()
