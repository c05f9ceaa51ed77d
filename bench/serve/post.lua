-- post.lua — wrk sends one credit row to POST /predict on every request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"amount":13867.88,"income":27859.27,"age":58,"history_years":9,"accounts":3,"late_payments":1}'
