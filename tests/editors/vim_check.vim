" vim_check.vim — batch checks of editors/vim, sourced by tests/editors/vim.sh
" with the sample spec in the current buffer. Writes each failure to the file
" named by $MLX_OUT (empty when all pass).
let s:fails = []
function! s:Group(l, c) abort
  return synIDattr(synID(a:l, a:c, 1), 'name')
endfunction
" Expect: the group at the first match of PAT (column of the match + OFF).
function! s:Expect(pat, off, want) abort
  call cursor(1, 1)
  let [l, c] = searchpos(a:pat, 'cW')
  if l == 0
    call add(s:fails, 'not found: ' . a:pat)
    return
  endif
  let got = s:Group(l, c + a:off)
  if got !=# a:want
    call add(s:fails, printf('%s (line %d col %d): expected "%s", found "%s"', a:pat, l, c + a:off, a:want, got))
  endif
endfunction

if &filetype !=# 'mlx'
  call add(s:fails, 'filetype is "' . &filetype . '", expected "mlx" (ftdetect)')
endif
if get(b:, 'current_syntax', '') !=# 'mlx'
  call add(s:fails, 'b:current_syntax is not "mlx"')
endif
call s:Expect('^dataset loans', 0, 'mlxDeclaration')
call s:Expect('^dataset loans', 8, 'mlxDeclName')
call s:Expect('^  source csv', 2, 'mlxStatement')
call s:Expect('source csv', 7, 'mlxCall')
call s:Expect('standardize(amount)', 0, 'mlxBuiltin')
call s:Expect('# a row number', 2, 'mlxComment')
call s:Expect('"N"', 1, 'mlxString')
call s:Expect('seed SEED', 0, 'mlxKeyword')
call s:Expect('70%', 0, 'mlxNumber')
call s:Expect('dense 1 sigmoid', 8, 'mlxConstant')
call s:Expect('hidden: int', 8, 'mlxType')
call s:Expect('^  seed 7', 2, 'mlxStatement')
call s:Expect('lr = 0.1', 0, '')
call s:Expect('momentum = 0.9', 0, '')
call s:Expect('3e-3', 0, 'mlxNumber')

" The lexer's soft-keyword rules, on a scratch buffer.
let s:want_indent = getline(1, '$')
new
setfiletype mlx
call setline(1, ['train t {', '  schedule step(every = 2 epochs)', '}',
      \ 'dataset d {', '  drop column seed', '  split train 70%, val 30% seed 1', '}',
      \ 'gate g { `seed col` > 1 }', 'extern fn f(x: float) -> float from "libm.so.6"',
      \ 'schedule warm(w: count = 2 epochs) {', '  schedule cosine(warmup = w)', '}',
      \ 'rollout canary(hold: duration = 10m) {', '  step 5% for hold', '}'])
call s:Expect('every =', 0, '')
call s:Expect('epochs)', 0, 'mlxUnit')
call s:Expect('seed$', 0, '')
call s:Expect('seed 1', 0, 'mlxKeyword')
call s:Expect('`seed col`', 1, 'mlxQuotedName')
call s:Expect('^extern', 0, 'mlxDeclaration')
call s:Expect('extern fn', 7, 'mlxExternFn')
call s:Expect('fn f(', 3, 'mlxDeclName')
call s:Expect('^schedule warm', 0, 'mlxDeclaration')
call s:Expect('^schedule warm', 9, 'mlxDeclName')
call s:Expect('w: count', 3, 'mlxType')
call s:Expect('^  schedule cosine', 2, 'mlxStatement')
call s:Expect('^rollout canary', 0, 'mlxDeclaration')
call s:Expect('^rollout canary', 8, 'mlxDeclName')
bwipe!

" Indentation: the sample with its indentation removed indents back to itself.
%s/^\s\+//e
normal! gg=G
if getline(1, '$') != s:want_indent
  call add(s:fails, 'gg=G does not restore the sample''s indentation')
  for i in range(len(s:want_indent))
    if getline(i + 1) !=# s:want_indent[i]
      call add(s:fails, printf('  line %d: "%s", expected "%s"', i + 1, getline(i + 1), s:want_indent[i]))
    endif
  endfor
endif
call writefile(s:fails, $MLX_OUT)
