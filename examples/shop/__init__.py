"""The demo shop: a small delivery startup (orders, payments, a checkout A/B test) that every part of
Bongsu is exercised on. Instrumented only through the SDK."""
