//! Age in completed years, the way Chinese offices count it (周岁).

use time::Date;

/// Age in completed years (周岁) of someone born on `birth`, on the day `on`.
///
/// One becomes a year older on the anniversary of the birth date. Someone born on 29
/// February becomes a year older on **1 March** in common years (on 28 February they
/// have not yet completed the year), and on 29 February in leap years.
///
/// Never negative: a day before the birth gives 0.
pub fn age_on(birth: Date, on: Date) -> i32 {
    if on <= birth {
        return 0;
    }
    let years = on.year() - birth.year();
    let before_anniversary = (on.month() as u8, on.day()) < (birth.month() as u8, birth.day());
    if before_anniversary { years - 1 } else { years }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn check(birth: Date, on: Date, expected: i32) {
        assert_eq!(age_on(birth, on), expected, "born {birth}, on {on}");
    }

    #[test]
    fn around_birthdays() {
        check(date!(1990 - 06 - 15), date!(1990 - 06 - 15), 0);
        check(date!(1990 - 06 - 15), date!(2010 - 06 - 14), 19);
        check(date!(1990 - 06 - 15), date!(2010 - 06 - 15), 20);
        check(date!(1990 - 06 - 15), date!(2010 - 06 - 16), 20);
        check(date!(1990 - 06 - 15), date!(2011 - 01 - 01), 20);
        check(date!(1990 - 12 - 31), date!(2010 - 12 - 30), 19);
        check(date!(1990 - 12 - 31), date!(2010 - 12 - 31), 20);
        check(date!(1990 - 01 - 01), date!(2009 - 12 - 31), 19);
        check(date!(1966 - 11 - 26), date!(2026 - 11 - 25), 59);
        check(date!(1966 - 11 - 25), date!(2026 - 11 - 25), 60);
    }

    #[test]
    fn leap_day_birthdays() {
        let b = date!(2000 - 02 - 29);
        check(b, date!(2001 - 02 - 28), 0);
        check(b, date!(2001 - 03 - 01), 1);
        check(b, date!(2021 - 02 - 28), 20);
        check(b, date!(2021 - 03 - 01), 21);
        check(b, date!(2024 - 02 - 28), 23);
        check(b, date!(2024 - 02 - 29), 24);
        check(b, date!(2024 - 03 - 01), 24);
    }

    #[test]
    fn never_negative() {
        check(date!(2000 - 01 - 02), date!(2000 - 01 - 01), 0);
        check(date!(2000 - 01 - 02), date!(1950 - 01 - 01), 0);
    }
}
