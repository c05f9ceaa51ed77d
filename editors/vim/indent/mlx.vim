" Vim indent file for mlx specs: one 'shiftwidth' per open brace or bracket
" ({ blocks and maps, ( calls, [ lists); a line that starts by closing one
" goes back a level. Brackets in comments and strings do not count.
if exists("b:did_indent")
  finish
endif
let b:did_indent = 1
setlocal indentexpr=GetMlxIndent(v:lnum)
setlocal indentkeys=0},0),0],!^F,o,O
setlocal autoindent
let b:undo_indent = "setlocal indentexpr< indentkeys< autoindent<"

if exists("*GetMlxIndent")
  finish
endif

" The brackets a line opens minus those it closes (outside strings, backquoted
" names and comments).
function! s:MlxBalance(line) abort
  let l = substitute(a:line, '"\%([^"\\]\|\\.\)*"\|`[^`]*`', '', 'g')
  let l = substitute(l, '#.*$', '', '')
  let opens = strlen(substitute(l, '[^{([]', '', 'g'))
  let closes = strlen(substitute(l, '[^})\]]', '', 'g'))
  return opens - closes
endfunction

function! GetMlxIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  let pline = getline(prev)
  let ind = indent(prev)
  " The previous line's closers at its start were already outdented.
  let lead_closes = strlen(substitute(matchstr(pline, '^\s*[})\]]*'), '\s', '', 'g'))
  let bal = s:MlxBalance(pline) + lead_closes
  if bal > 0
    let ind += shiftwidth()
  elseif bal < 0
    let ind -= shiftwidth()
  endif
  if getline(a:lnum) =~ '^\s*[})\]]'
    let ind -= shiftwidth()
  endif
  return ind < 0 ? 0 : ind
endfunction
