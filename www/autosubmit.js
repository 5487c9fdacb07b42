// The form_post response mode page submits itself; without JavaScript the user presses Continue.
document.forms[0].submit();
