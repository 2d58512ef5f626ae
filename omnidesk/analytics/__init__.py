"""Analytics: workforce maths (Erlang B, C and A; forecasts; staffing plans) and, later, reports."""
