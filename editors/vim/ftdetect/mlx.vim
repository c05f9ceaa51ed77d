" mlx spec files (mlxc)
autocmd BufNewFile,BufRead *.mlx setfiletype mlx
