"""How results reach people: failure reprs (the only private pytest API), scrubbing, the step summary."""
