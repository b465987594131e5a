"""Page routes, one module per audience: sign-in, students, TAs (staff) and instructors."""
