;;; emacs_check.el --- batch checks of editors/emacs/mlx-mode.el  -*- lexical-binding: t; -*-
;; Run by tests/editors/emacs.sh: emacs --batch -Q -l mlx-mode.elc -l emacs_check.el
;; with MLX_SAMPLE (a spec) and MLX_DIAG (mlxc's diagnostics of a bad spec).
;; Prints each failure and exits 1 when any.

(defvar mlx-check-failures 0)

(defun mlx-check (what ok)
  "Report WHAT as a failure unless OK."
  (unless ok
    (setq mlx-check-failures (1+ mlx-check-failures))
    (message "FAIL: %s" what)))

(defun mlx-face-at (needle &optional offset)
  "The face at the first NEEDLE (plus OFFSET) in the current buffer."
  (goto-char (point-min))
  (if (search-forward needle nil t)
      (let ((f (get-text-property (+ (match-beginning 0) (or offset 0)) 'face)))
        (if (listp f) (car f) f))
    'not-found))

(defun mlx-expect-face (needle face &optional offset)
  (let ((got (mlx-face-at needle offset)))
    (mlx-check (format "face at %S: expected %s, found %s" needle face got) (eq got face))))

;; Font-lock over the sample.
(with-temp-buffer
  (insert-file-contents (getenv "MLX_SAMPLE"))
  (mlx-mode)
  (font-lock-ensure)
  (mlx-check "mlx-mode is the major mode" (eq major-mode 'mlx-mode))
  (mlx-expect-face "dataset loans" 'font-lock-keyword-face)
  (mlx-expect-face "dataset loans" 'font-lock-function-name-face 8)
  (mlx-expect-face "  source csv" 'font-lock-builtin-face 2)
  (mlx-expect-face "drop column id" 'font-lock-builtin-face)
  (mlx-expect-face "standardize(amount)" 'font-lock-function-name-face)
  (mlx-expect-face "# a row number" 'font-lock-comment-face 2)
  (mlx-expect-face "\"N\"" 'font-lock-string-face 1)
  (mlx-expect-face "seed SEED" 'font-lock-keyword-face)
  (mlx-expect-face "70%" 'font-lock-constant-face)
  (mlx-expect-face "dense 1 sigmoid" 'font-lock-constant-face 8)
  (mlx-expect-face "loss bce" 'font-lock-constant-face 5)
  (mlx-expect-face "hidden: int" 'font-lock-type-face 8)
  (mlx-expect-face "  seed 7" 'font-lock-builtin-face 2)
  (mlx-expect-face "lr = 0.1" nil)
  (mlx-expect-face "momentum = 0.9" nil))

;; Soft keywords: a modifier word before `=' or at the end of a line is a name.
(with-temp-buffer
  (insert "train t {\n  schedule step(every = 2 epochs)\n}\n"
          "dataset d {\n  drop column seed\n  split train 70%, val 30% seed 1\n}\n"
          "gate g { `seed col` > 1 }\n"
          "schedule warm(w: count = 2 epochs) {\n  schedule cosine(warmup = w)\n}\n"
          "rollout canary(hold: duration = 10m) {\n  step 5% for hold\n}\n")
  (mlx-mode)
  (font-lock-ensure)
  (mlx-expect-face "every =" nil)
  (mlx-expect-face "epochs)" 'font-lock-constant-face)
  (mlx-expect-face "seed\n" nil)
  (mlx-expect-face "seed 1" 'font-lock-keyword-face)
  (mlx-expect-face "`seed col`" 'font-lock-variable-name-face 1)
  (mlx-expect-face "schedule warm" 'font-lock-keyword-face)
  (mlx-expect-face "schedule warm" 'font-lock-function-name-face 9)
  (mlx-expect-face "w: count" 'font-lock-type-face 3)
  (mlx-expect-face "  schedule cosine" 'font-lock-builtin-face 2)
  (mlx-expect-face "rollout canary" 'font-lock-keyword-face)
  (mlx-expect-face "rollout canary" 'font-lock-function-name-face 8))

;; Indentation: the sample with its indentation removed indents back to itself.
(with-temp-buffer
  (insert-file-contents (getenv "MLX_SAMPLE"))
  (mlx-mode)
  (let ((want (buffer-string)))
    (goto-char (point-min))
    (while (re-search-forward "^[ \t]+" nil t) (replace-match ""))
    (indent-region (point-min) (point-max))
    (mlx-check "indent-region restores the sample's indentation"
               (string= want (buffer-string)))))

;; The compilation rule against a real diagnostic of mlxc.
(let* ((rule (cdr (assq 'mlxc compilation-error-regexp-alist-alist)))
       (re (car rule))
       (diag (with-temp-buffer (insert-file-contents (getenv "MLX_DIAG")) (buffer-string)))
       (lines (split-string diag "\n"))
       (hits 0))
  (mlx-check "compilation-error-regexp-alist holds mlxc" (memq 'mlxc compilation-error-regexp-alist))
  (dolist (l lines)
    (when (string-match re l)
      (setq hits (1+ hits))
      (mlx-check (format "file of %S" l) (string-match-p "\\.mlx\\'" (match-string 1 l)))
      (mlx-check (format "line of %S" l) (> (string-to-number (match-string 2 l)) 0))
      (mlx-check (format "column of %S" l) (> (string-to-number (match-string 3 l)) 0))
      (mlx-check (format "kind of %S" l)
                 (eq (cond ((match-beginning 4) 'warning) ((match-beginning 5) 'note) (t 'error))
                     (cond ((string-match-p ": warning: " l) 'warning)
                           ((string-match-p ": note: " l) 'note) (t 'error))))))
  (mlx-check (format "the rule matches mlxc's diagnostics:\n%s" diag) (>= hits 2))
  ;; compilation-mode itself finds the first error's location.
  (with-temp-buffer
    (insert diag)
    (compilation-mode)
    (goto-char (point-min))
    (if (fboundp 'compilation--ensure-parse)
        (compilation--ensure-parse (point-max))
      (font-lock-ensure))
    (let* ((msg (get-text-property (point-min) 'compilation-message))
           (loc (and msg (compilation--message->loc msg))))
      (mlx-check "compilation-mode parses the first diagnostic" loc)
      (when loc
        (mlx-check (format "compilation-mode: the error at line %s, expected %s" (cadr loc)
                           (progn (string-match re diag) (match-string 2 diag)))
                   (equal (cadr loc) (string-to-number (match-string 2 diag))))))))

(if (> mlx-check-failures 0)
    (kill-emacs 1)
  (message "emacs checks ok"))
