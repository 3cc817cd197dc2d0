"""What leaves the grader for people and other systems.

``pages.py`` renders a student's feedback page (nbconvert, offline, no script);
``withhold.py`` keeps hidden tests out of it; ``exports.py`` writes Gradescope,
Canvas and Moodle formats; ``plots.py`` draws the class report's charts.
"""
