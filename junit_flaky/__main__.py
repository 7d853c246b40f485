from junit_flaky.entry import main

main()
