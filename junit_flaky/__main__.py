from junit_flaky.cli import main

main()
