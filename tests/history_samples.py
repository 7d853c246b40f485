"""Reports the history tests record: a flaky test's failure and passing rerun, and its neighbours."""

FLAKY_RUN = """<testsuite name="s">
<testcase classname="pkg.TestA" name="test_flaky[1]" time="2"><failure message="boom">t</failure></testcase>
<testcase classname="pkg.TestA" name="test_flaky[1]" time="3"/>
<testcase classname="pkg.TestA" name="test_stable" time="1"/>
</testsuite>"""
GREEN_RUN = """<testsuite name="s">
<testcase classname="pkg.TestA" name="test_flaky[1]" time="2"/>
<testcase classname="pkg.TestA" name="test_stable" time="1"/>
</testsuite>"""
RED_RUN = """<testsuite name="s">
<testcase classname="pkg.TestA" name="test_flaky[1]" time="2"><failure message="boom">t</failure></testcase>
<testcase classname="pkg.TestA" name="test_stable" time="1"/>
</testsuite>"""
